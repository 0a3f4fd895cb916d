/**
 * PostgreSQL struct layouts and enum numbering, per major version.
 *
 * The data lives in collectors/layouts/pg<major>.json, written by
 * scripts/gen-layouts.sh from the postgresql-server-dev headers: the target
 * binary is stripped, so there is no DWARF to ask at run time, and layouts are
 * stable within a major version.
 */
import { packageRoot } from '../util/package-root.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotSupportedError, TargetError } from '../util/errors.js';

/** How a field's bytes are to be read; `size` gives the width. */
export type FieldKind =
  | 'int' | 'uint' | 'float' | 'bool' | 'pointer'
  | 'array' | 'flexarray' | 'struct' | 'union';

export interface FieldLayout {
  offset: number;
  /** 0 for a flexible array member. */
  size: number;
  kind: FieldKind;
}

export interface StructLayout {
  size: number;
  fields: Record<string, FieldLayout>;
}

export interface LayoutMeta {
  major: number;
  /** The server-dev .deb the headers came from. */
  generated_from: string;
  generated_at: string;
  generator: string;
  /** Debian architecture the offsets are valid for. */
  arch: string;
  /** Spec entries (`Struct`, `Struct.field`, `Enum.MEMBER`) absent in this major. */
  unavailable: string[];
}

export interface LayoutTable {
  meta: LayoutMeta;
  structs: Record<string, StructLayout>;
  nodeTags: Record<string, number>;
  enums: Record<string, Record<string, number>>;
  constants: Record<string, number>;
}

export class Layout {
  readonly major: number;
  private readonly tagNames = new Map<number, string>();

  constructor(readonly table: LayoutTable) {
    this.major = table.meta.major;
    for (const [name, value] of Object.entries(table.nodeTags)) this.tagNames.set(value, name);
  }

  get meta(): LayoutMeta {
    return this.table.meta;
  }

  hasField(struct: string, field: string): boolean {
    return Object.hasOwn(this.table.structs, struct) &&
      Object.hasOwn(this.table.structs[struct]!.fields, field);
  }

  field(struct: string, field: string): FieldLayout {
    const fields = this.struct(struct).fields;
    if (Object.hasOwn(fields, field)) return fields[field]!;
    return this.missing(`${struct}.${field}`, `field ${struct}.${field}`);
  }

  offsetOf(struct: string, field: string): number {
    return this.field(struct, field).offset;
  }

  sizeOf(struct: string): number {
    return this.struct(struct).size;
  }

  /** Accepts `T_Hash` or `Hash`. */
  nodeTag(name: string): number {
    const tag = name.startsWith('T_') ? name : `T_${name}`;
    if (Object.hasOwn(this.table.nodeTags, tag)) return this.table.nodeTags[tag]!;
    return this.missing(`NodeTag.${tag}`, `node tag ${tag}`);
  }

  nodeTagName(value: number): string {
    const name = this.tagNames.get(value);
    if (name === undefined) {
      throw new TargetError(`${value} is not a PostgreSQL ${this.major} NodeTag value`);
    }
    return name;
  }

  enumValue(enumName: string, member: string): number {
    if (!Object.hasOwn(this.table.enums, enumName)) {
      return this.missing(`enum ${enumName}`, `enum ${enumName}`);
    }
    const members = this.table.enums[enumName]!;
    if (Object.hasOwn(members, member)) return members[member]!;
    return this.missing(`${enumName}.${member}`, `member ${member} of enum ${enumName}`);
  }

  /** The member of `enumName` with this value (first one), or null. */
  enumMember(enumName: string, value: number): string | null {
    const members = this.table.enums[enumName] ?? {};
    return Object.entries(members).find(([, v]) => v === value)?.[0] ?? null;
  }

  constant(name: string): number {
    if (Object.hasOwn(this.table.constants, name)) return this.table.constants[name]!;
    return this.missing(name, `constant ${name}`);
  }

  private struct(struct: string): StructLayout {
    if (Object.hasOwn(this.table.structs, struct)) return this.table.structs[struct]!;
    return this.missing(struct, `struct ${struct}`);
  }

  // "This major lacks it" is a version limit; "the table lacks it" means the
  // generator spec needs the name added.
  private missing(id: string, what: string): never {
    if (this.table.meta.unavailable.includes(id)) {
      throw new NotSupportedError(id, `PostgreSQL ${this.major} has no ${what}`);
    }
    throw new TargetError(
      `the PostgreSQL ${this.major} layout table has no ${what}; add it to ` +
        `scripts/gen-layouts.mjs and run \`bash scripts/gen-layouts.sh ${this.major}\``,
    );
  }
}

export function layoutPath(major: number): string {
  return join(packageRoot(), 'collectors', 'layouts', `pg${major}.json`);
}

const cache = new Map<number, Layout>();

export function loadLayout(major: number): Layout {
  const cached = cache.get(major);
  if (cached) return cached;
  const path = layoutPath(major);
  if (!Number.isInteger(major) || !existsSync(path)) {
    throw new TargetError(
      `PostgreSQL ${major} has no layout table; generate one with \`bash scripts/gen-layouts.sh ${major}\``,
    );
  }
  let table: LayoutTable;
  try {
    table = JSON.parse(readFileSync(path, 'utf8')) as LayoutTable;
  } catch (err) {
    throw new TargetError(`cannot read layout table ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (table?.meta?.major !== major || !table.structs || !table.nodeTags || !table.enums) {
    throw new TargetError(`${path} is not a PostgreSQL ${major} layout table; regenerate it with \`bash scripts/gen-layouts.sh ${major}\``);
  }
  table.constants ??= {};
  table.meta.unavailable ??= [];
  const layout = new Layout(table);
  cache.set(major, layout);
  return layout;
}
