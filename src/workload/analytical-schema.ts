/**
 * The analytical workload's schema: a TPC-H-like snowflake (region → nation →
 * customer / supplier, part, orders → lineitem) generated on the server in SQL
 * (no downloads), skewed where real data is (order dates, quantities, prices)
 * so that the templates' selectivities span orders of magnitude.
 */
export const ANALYTICAL_MARKER = 'wl_meta';

/** Rows per table at scale 1 (lineitem: ~4 per order). */
export const ANALYTICAL_SIZES = { customer: 15_000, supplier: 1_000, part: 20_000, orders: 150_000 } as const;

export function analyticalSchemaSql(scale: number): string[] {
  const n = (base: number) => Math.max(10, Math.round(base * scale));
  const { customer, supplier, part, orders } = ANALYTICAL_SIZES;
  return [
    `DROP TABLE IF EXISTS wl_lineitem, wl_orders, wl_partsupp, wl_part, wl_supplier, wl_customer, wl_nation, wl_region, ${ANALYTICAL_MARKER}`,
    `CREATE TABLE wl_region (r_regionkey int PRIMARY KEY, r_name text NOT NULL)`,
    `INSERT INTO wl_region SELECT g, (ARRAY['AFRICA','AMERICA','ASIA','EUROPE','MIDDLE EAST'])[g + 1] FROM generate_series(0, 4) g`,
    `CREATE TABLE wl_nation (n_nationkey int PRIMARY KEY, n_name text NOT NULL, n_regionkey int NOT NULL REFERENCES wl_region)`,
    `INSERT INTO wl_nation SELECT g, 'NATION_' || g, g % 5 FROM generate_series(0, 24) g`,
    `CREATE TABLE wl_customer (c_custkey int PRIMARY KEY, c_name text NOT NULL, c_nationkey int NOT NULL REFERENCES wl_nation,
       c_acctbal numeric(12,2) NOT NULL, c_mktsegment text NOT NULL)`,
    `INSERT INTO wl_customer SELECT g, 'Customer#' || g, (hashint4(g) & 2147483647) % 25, round((random() * 11000 - 1000)::numeric, 2),
       (ARRAY['AUTOMOBILE','BUILDING','FURNITURE','HOUSEHOLD','MACHINERY'])[1 + (g * 7) % 5] FROM generate_series(1, ${n(customer)}) g`,
    `CREATE TABLE wl_supplier (s_suppkey int PRIMARY KEY, s_name text NOT NULL, s_nationkey int NOT NULL REFERENCES wl_nation, s_acctbal numeric(12,2) NOT NULL)`,
    `INSERT INTO wl_supplier SELECT g, 'Supplier#' || g, g % 25, round((random() * 11000 - 1000)::numeric, 2) FROM generate_series(1, ${n(supplier)}) g`,
    `CREATE TABLE wl_part (p_partkey int PRIMARY KEY, p_name text NOT NULL, p_brand text NOT NULL, p_type text NOT NULL, p_size int NOT NULL,
       p_retailprice numeric(12,2) NOT NULL)`,
    `INSERT INTO wl_part SELECT g, 'part ' || md5(g::text), 'Brand#' || (1 + g % 5) || (1 + (g / 5) % 5),
       (ARRAY['STANDARD','SMALL','MEDIUM','LARGE','ECONOMY','PROMO'])[1 + g % 6] || ' ' || (ARRAY['ANODIZED','BURNISHED','PLATED','POLISHED','BRUSHED'])[1 + (g / 6) % 5],
       1 + (hashint4(g) & 2147483647) % 50, round((900 + (g % 1000) + random() * 100)::numeric, 2) FROM generate_series(1, ${n(part)}) g`,
    `CREATE TABLE wl_partsupp (ps_partkey int NOT NULL REFERENCES wl_part, ps_suppkey int NOT NULL REFERENCES wl_supplier,
       ps_availqty int NOT NULL, ps_supplycost numeric(12,2) NOT NULL, PRIMARY KEY (ps_partkey, ps_suppkey))`,
    `INSERT INTO wl_partsupp SELECT p, 1 + (p * 4 + k * 7919) % ${n(supplier)}, 1 + (hashint4(p * 4 + k) & 2147483647) % 9999, round((1 + random() * 999)::numeric, 2)
       FROM generate_series(1, ${n(part)}) p, generate_series(0, 3) k ON CONFLICT DO NOTHING`,
    `CREATE TABLE wl_orders (o_orderkey int PRIMARY KEY, o_custkey int NOT NULL REFERENCES wl_customer, o_orderstatus char(1) NOT NULL,
       o_totalprice numeric(14,2) NOT NULL, o_orderdate date NOT NULL, o_orderpriority text NOT NULL)`,
    // Dates skewed towards recent years: ranges of a day to years select 1e-4 to 1 of the table.
    `INSERT INTO wl_orders SELECT g, 1 + (hashint4(g) & 2147483647) % ${n(customer)}, (ARRAY['F','O','P'])[1 + g % 3],
       round((1000 + random() * random() * 400000)::numeric, 2), date '1992-01-01' + (2400 * sqrt(random()))::int,
       (ARRAY['1-URGENT','2-HIGH','3-MEDIUM','4-NOT SPECIFIED','5-LOW'])[1 + g % 5] FROM generate_series(1, ${n(orders)}) g`,
    `CREATE TABLE wl_lineitem (l_orderkey int NOT NULL REFERENCES wl_orders, l_linenumber int NOT NULL, l_partkey int NOT NULL REFERENCES wl_part,
       l_suppkey int NOT NULL, l_quantity int NOT NULL, l_extendedprice numeric(14,2) NOT NULL, l_discount numeric(4,2) NOT NULL,
       l_returnflag char(1) NOT NULL, l_shipdate date NOT NULL, l_shipmode text NOT NULL, PRIMARY KEY (l_orderkey, l_linenumber))`,
    `INSERT INTO wl_lineitem SELECT o.o_orderkey, k, 1 + (hashint4(o.o_orderkey * 8 + k) & 2147483647) % ${n(part)},
       1 + (o.o_orderkey + k) % ${n(supplier)}, 1 + floor(50 * random() ^ 2)::int, round((100 + random() * 90000)::numeric, 2),
       (floor(random() * 11) / 100)::numeric(4,2), (ARRAY['A','N','R'])[1 + (o.o_orderkey + k) % 3], o.o_orderdate + 1 + (k * 13) % 120,
       (ARRAY['AIR','MAIL','RAIL','SHIP','TRUCK','FOB','REG AIR'])[1 + (o.o_orderkey * k) % 7]
       FROM wl_orders o, generate_series(1, 7) k WHERE k <= 1 + o.o_orderkey % 7`,
    `CREATE INDEX ON wl_orders (o_custkey)`,
    `CREATE INDEX ON wl_orders (o_orderdate)`,
    `CREATE INDEX ON wl_lineitem (l_partkey)`,
    `CREATE INDEX ON wl_lineitem (l_shipdate)`,
    `CREATE INDEX ON wl_customer (c_nationkey)`,
    `CREATE INDEX ON wl_part (p_brand)`,
    `ANALYZE`,
    `CREATE TABLE ${ANALYTICAL_MARKER} (scale float8 NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    `INSERT INTO ${ANALYTICAL_MARKER}(scale) VALUES (${scale})`,
  ];
}
