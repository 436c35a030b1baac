/**
 * The project's template.yaml for tests, read with the same CloudFormation YAML reader the
 * local stack uses (local/template/cfn-yaml.ts), so tests inspect exactly what the stack runs.
 */
import path from 'node:path';
import { REPO_ROOT } from '../../local/repo-root';
import { type CfnTemplate, readCfnTemplate } from '../../local/template/cfn-yaml';

export type { CfnResource, CfnTemplate } from '../../local/template/cfn-yaml';

/** template.yaml (or another file relative to the repository root). */
export function loadTemplate(file = 'template.yaml'): CfnTemplate {
  return readCfnTemplate(path.join(REPO_ROOT, file));
}
