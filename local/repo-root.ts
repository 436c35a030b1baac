import path from 'node:path';

/** The repository's root folder (template.yaml, package.json, .cache/, web/). */
export const REPO_ROOT = path.resolve(__dirname, '..');
