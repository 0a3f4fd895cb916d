// Regenerates the column tables in docs/dataset.md from every collector's table specs (run after `npm run build:ts`).
import fs from 'node:fs';
import { withColumns } from '../dist/dataset/doc.js';
import { documentedTables } from '../dist/collectors/registry.js';

const file = new URL('../docs/dataset.md', import.meta.url);
let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Dataset\n';
for (const table of documentedTables()) doc = withColumns(doc, table);
fs.writeFileSync(file, doc);
