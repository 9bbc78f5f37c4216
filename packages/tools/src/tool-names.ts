/**
 * The original Shammah's tool names (and a few that small models invent), mapped to ours. Names are
 * compared after {@link normalizeToolName}, so `Web_Fetch`, `web-fetch` and `webfetch` are one.
 */
const BUILT_IN_ALIASES: Readonly<Record<string, string>> = {
  read: 'Read',
  readfile: 'Read',
  view: 'Read',
  glob: 'Glob',
  findfiles: 'Glob',
  grep: 'Grep',
  search: 'Grep',
  bash: 'Bash',
  shell: 'Bash',
  runcommand: 'Bash',
  webfetch: 'WebFetch',
  fetch: 'WebFetch',
  restart: 'Restart',
  restartsession: 'Restart',
  write: 'Write',
  writefile: 'Write',
  edit: 'Edit',
  editfile: 'Edit',
};

/** Lower-case without `_`, `-` or spaces: the form tool names are compared in. */
export function normalizeToolName(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, '');
}

/**
 * Our name for a built-in tool as a model or an old rule spells it (`web_fetch` → `WebFetch`,
 * `restart_session` → `Restart`), or the name unchanged when it is not one of ours.
 */
export function canonicalToolName(name: string): string {
  return BUILT_IN_ALIASES[normalizeToolName(name)] ?? name;
}
