import { ShammahError, type ShammahErrorOptions } from '@shammah/provider';

/** No saved session has the id `--resume` named (or there is none at all for `--continue`). */
export class SessionNotFoundError extends ShammahError {
  override readonly name = 'SessionNotFoundError';
  readonly sessionId: string;
  readonly directory: string;

  constructor(sessionId: string, directory: string, options: ShammahErrorOptions = {}) {
    super(
      'session_not_found',
      sessionId === ''
        ? `There is no saved session in ${directory} yet. Start a conversation; it is saved as it goes.`
        : `No saved session "${sessionId}" in ${directory}. List them with \`shammah sessions\` and resume one by its id ` +
            '(or a unique start of it), or use --continue for the latest.',
      options,
    );
    this.sessionId = sessionId;
    this.directory = directory;
  }
}

/** A session id prefix matches more than one saved session. */
export class AmbiguousSessionIdError extends ShammahError {
  override readonly name = 'AmbiguousSessionIdError';
  readonly sessionId: string;
  readonly candidates: string[];

  constructor(sessionId: string, candidates: readonly string[], options: ShammahErrorOptions = {}) {
    super(
      'session_ambiguous',
      `"${sessionId}" starts ${candidates.length} saved sessions (${candidates.slice(0, 5).join(', ')}${candidates.length > 5 ? ', …' : ''}). ` +
        'Give more of the id.',
      options,
    );
    this.sessionId = sessionId;
    this.candidates = [...candidates];
  }
}

/** A session file is not valid JSON or not a session; listing skips it, loading it by id reports it. */
export class SessionCorruptError extends ShammahError {
  override readonly name = 'SessionCorruptError';
  readonly path: string;

  constructor(path: string, detail: string, options: ShammahErrorOptions = {}) {
    super(
      'session_corrupt',
      `The session file ${path} is damaged (${detail}) and cannot be resumed. Other sessions are not affected; ` +
        'move or delete this file to stop seeing this message.',
      options,
    );
    this.path = path;
  }
}

/** An instruction file (AGENTS.md, constitution.md) could not be read or written. */
export class InstructionFileError extends ShammahError {
  override readonly name = 'InstructionFileError';
  readonly path: string;

  constructor(path: string, message: string, options: ShammahErrorOptions = {}) {
    super('instruction_file_failed', message, options);
    this.path = path;
  }
}
