export { writeFileAtomic } from './atomic-write.js';
export type { ConfigLocation } from './config.js';
export {
  ConfigError,
  configuredModel,
  getConfigValue,
  loadConfig,
  locateKey,
  parseConfig,
  saveConfig,
  setConfigValue,
} from './config.js';
export type { ShammahPaths } from './paths.js';
export { shammahHome, shammahPaths } from './paths.js';
export type { McpServerEntry, PermissionRuleEntry, ShammahConfig, TeacherEntry } from './schema.js';
export { configSchema } from './schema.js';
