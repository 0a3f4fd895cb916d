// Regenerates the column tables in docs/dataset.md from src/dataset/tables/*.ts (run after `npm run build:ts`).
import fs from 'node:fs';
import { withColumns } from '../dist/dataset/doc.js';
import { QUERIES_TABLE } from '../dist/dataset/tables/queries.js';
import { OPERATORS_TABLE } from '../dist/dataset/tables/operators.js';

const file = new URL('../docs/dataset.md', import.meta.url);
let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Dataset\n';
for (const table of [QUERIES_TABLE, OPERATORS_TABLE]) doc = withColumns(doc, table);
fs.writeFileSync(file, doc);
