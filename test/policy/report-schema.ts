import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { projectRoot } from '../helpers/shared.js';

const schema = JSON.parse(readFileSync(join(projectRoot, 'schema', 'report.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);

/** What schema/report.schema.json finds wrong with a report (as it would be printed as JSON); [] when valid. */
export function schemaErrorsOf(report: unknown): string[] {
  return validate(JSON.parse(JSON.stringify(report)))
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
