import { describe, expect, it } from 'vitest';
import { commandPatternMatches, splitShellCommand, suggestCommandPattern } from './command-pattern.js';

describe('splitShellCommand', () => {
  it('splits at unquoted operators and keeps quoted ones', () => {
    expect(splitShellCommand('npm test && rm -rf ~; echo "a && b" | wc -l || true').segments).toEqual([
      'npm test',
      'rm -rf ~',
      'echo "a && b"',
      'wc -l',
      'true',
    ]);
    expect(splitShellCommand("echo 'x; y'\nls").segments).toEqual(["echo 'x; y'", 'ls']);
    expect(splitShellCommand('sleep 5 & echo done').segments).toEqual(['sleep 5', 'echo done']);
  });

  it('treats redirections with & as part of the command', () => {
    expect(splitShellCommand('npm test 2>&1').segments).toEqual(['npm test 2>&1']);
    expect(splitShellCommand('make &> log.txt').segments).toEqual(['make &> log.txt']);
  });

  it('flags command substitution, except inside single quotes', () => {
    expect(splitShellCommand('echo $(cat /etc/passwd)').hasSubstitution).toBe(true);
    expect(splitShellCommand('echo "`id`"').hasSubstitution).toBe(true);
    expect(splitShellCommand('diff <(ls a) <(ls b)').hasSubstitution).toBe(true);
    expect(splitShellCommand("echo '$(not run)'").hasSubstitution).toBe(false);
  });
});

describe('commandPatternMatches', () => {
  it('matches prefixes with a trailing star and exact commands without one', () => {
    expect(commandPatternMatches('npm test*', 'npm test')).toBe(true);
    expect(commandPatternMatches('npm test*', 'npm test -- --watch')).toBe(true);
    expect(commandPatternMatches('npm test*', 'npm run build')).toBe(false);
    expect(commandPatternMatches('git status', 'git status')).toBe(true);
    expect(commandPatternMatches('git status', '  git   status ')).toBe(true);
    expect(commandPatternMatches('git status', 'git status --short')).toBe(false);
  });

  it("understands Claude Code's word-boundary form `prefix:*`", () => {
    expect(commandPatternMatches('npm test:*', 'npm test')).toBe(true);
    expect(commandPatternMatches('npm test:*', 'npm test --coverage')).toBe(true);
    expect(commandPatternMatches('npm test:*', 'npm tests')).toBe(false);
  });

  it('treats regex characters in patterns literally', () => {
    expect(commandPatternMatches('ls (a)*', 'ls (a) -l')).toBe(true);
    expect(commandPatternMatches('echo a.b', 'echo axb')).toBe(false);
  });
});

describe('suggestCommandPattern', () => {
  it('offers the program and its subcommand', () => {
    expect(suggestCommandPattern('git status --short')).toBe('git status*');
    expect(suggestCommandPattern('npm test -- --watch')).toBe('npm test*');
    expect(suggestCommandPattern('ls -la')).toBe('ls*');
    expect(suggestCommandPattern('cat ./x')).toBe('cat*');
  });

  it('offers patterns that match the command they came from', () => {
    for (const command of ['git status --short', 'ls -la', 'pnpm --filter x test', 'python3 -m pytest -q']) {
      expect(commandPatternMatches(suggestCommandPattern(command), command)).toBe(true);
    }
  });
});
