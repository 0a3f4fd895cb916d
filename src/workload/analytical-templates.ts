/**
 * Parameterized query templates of the analytical workload: TPC-H-like shapes
 * (multi-way joins, group-bys, sorts, subqueries, semi/anti joins, window
 * functions, CTEs) whose random parameters move selectivities over orders of
 * magnitude, so a model sees each shape at many sizes.
 */
import type { Rng } from './rng.js';

export interface Template { name: string; sql: string; params: (rng: Rng) => unknown[] }

const DAY0 = Date.UTC(1992, 0, 1);
const DAYS = 2400;
/** An ISO date `offset` days after 1992-01-01. */
const day = (offset: number) => new Date(DAY0 + offset * 86_400_000).toISOString().slice(0, 10);
/** A date range of 1 day to ~6 years: selectivity from ~1e-4 to 1 (log-uniform width). */
function dateRange(rng: Rng): [string, string] {
  const width = Math.round(Math.exp(rng.uniform(0, Math.log(DAYS))));
  const start = rng.int(0, DAYS - width);
  return [day(start), day(start + width)];
}
const SEGMENTS = ['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'HOUSEHOLD', 'MACHINERY'];
const SHIPMODES = ['AIR', 'MAIL', 'RAIL', 'SHIP', 'TRUCK', 'FOB', 'REG AIR'];
const brand = (rng: Rng) => `Brand#${rng.int(1, 5)}${rng.int(1, 5)}`;

export const ANALYTICAL_TEMPLATES: readonly Template[] = [
  { name: 'pricing_summary', sql: `SELECT l_returnflag, count(*), sum(l_quantity), sum(l_extendedprice * (1 - l_discount)), avg(l_discount)
      FROM wl_lineitem WHERE l_shipdate <= $1 GROUP BY l_returnflag ORDER BY l_returnflag`, params: (r) => [day(r.int(10, DAYS + 100))] },
  { name: 'shipping_priority', sql: `SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate
      FROM wl_customer JOIN wl_orders ON o_custkey = c_custkey JOIN wl_lineitem ON l_orderkey = o_orderkey
      WHERE c_mktsegment = $1 AND o_orderdate BETWEEN $2 AND $3 GROUP BY l_orderkey, o_orderdate ORDER BY revenue DESC LIMIT 10`,
    params: (r) => [r.pick(SEGMENTS), ...dateRange(r)] },
  { name: 'order_priority_exists', sql: `SELECT o_orderpriority, count(*) FROM wl_orders o WHERE o_orderdate BETWEEN $1 AND $2
      AND EXISTS (SELECT 1 FROM wl_lineitem l WHERE l.l_orderkey = o.o_orderkey AND l.l_shipdate > o.o_orderdate + $3::int)
      GROUP BY o_orderpriority ORDER BY 1`, params: (r) => [...dateRange(r), r.int(1, 110)] },
  { name: 'local_supplier_volume', sql: `SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue
      FROM wl_customer JOIN wl_orders ON o_custkey = c_custkey JOIN wl_lineitem ON l_orderkey = o_orderkey
      JOIN wl_supplier ON s_suppkey = l_suppkey AND s_nationkey = c_nationkey JOIN wl_nation ON n_nationkey = s_nationkey
      JOIN wl_region ON r_regionkey = n_regionkey WHERE r_name = $1 AND o_orderdate BETWEEN $2 AND $3 GROUP BY n_name ORDER BY revenue DESC`,
    params: (r) => [r.pick(['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST']), ...dateRange(r)] },
  { name: 'forecast_revenue', sql: `SELECT sum(l_extendedprice * l_discount) FROM wl_lineitem
      WHERE l_shipdate BETWEEN $1 AND $2 AND l_discount BETWEEN $3 AND $3 + 0.02 AND l_quantity < $4`,
    params: (r) => [...dateRange(r), r.int(0, 8) / 100, r.int(1, 50)] },
  { name: 'returned_items', sql: `SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, n_name
      FROM wl_customer JOIN wl_orders ON o_custkey = c_custkey JOIN wl_lineitem ON l_orderkey = o_orderkey JOIN wl_nation ON n_nationkey = c_nationkey
      WHERE o_orderdate BETWEEN $1 AND $2 AND l_returnflag = 'R' GROUP BY c_custkey, c_name, n_name ORDER BY revenue DESC LIMIT 20`,
    params: (r) => dateRange(r) },
  { name: 'important_stock', sql: `SELECT ps_partkey, sum(ps_supplycost * ps_availqty) AS value FROM wl_partsupp JOIN wl_supplier ON s_suppkey = ps_suppkey
      WHERE s_nationkey = $1 GROUP BY ps_partkey HAVING sum(ps_supplycost * ps_availqty) > $2 ORDER BY value DESC LIMIT 50`,
    params: (r) => [r.int(0, 24), r.int(1, 10) * 100_000] },
  { name: 'shipmode_priority', sql: `SELECT l_shipmode, sum(CASE WHEN o_orderpriority IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END) AS high, count(*)
      FROM wl_orders JOIN wl_lineitem ON l_orderkey = o_orderkey WHERE l_shipmode = ANY($1) AND l_shipdate BETWEEN $2 AND $3
      GROUP BY l_shipmode ORDER BY l_shipmode`, params: (r) => [[r.pick(SHIPMODES), r.pick(SHIPMODES)], ...dateRange(r)] },
  { name: 'customer_distribution_left_join', sql: `SELECT c_count, count(*) AS custdist FROM (SELECT c_custkey, count(o_orderkey) AS c_count
      FROM wl_customer LEFT JOIN wl_orders ON o_custkey = c_custkey AND o_totalprice > $1 GROUP BY c_custkey) c
      GROUP BY c_count ORDER BY custdist DESC, c_count DESC`, params: (r) => [Math.round(Math.exp(r.uniform(Math.log(1000), Math.log(400_000))))] },
  { name: 'parts_supplier_anti_join', sql: `SELECT p_brand, p_type, p_size, count(DISTINCT ps_suppkey) AS supplier_cnt FROM wl_partsupp JOIN wl_part ON p_partkey = ps_partkey
      WHERE p_brand <> $1 AND p_size = ANY($2) AND NOT EXISTS (SELECT 1 FROM wl_supplier s WHERE s.s_suppkey = ps_suppkey AND s.s_acctbal < $3)
      GROUP BY p_brand, p_type, p_size ORDER BY supplier_cnt DESC, p_brand LIMIT 30`,
    params: (r) => [brand(r), Array.from({ length: r.int(1, 8) }, () => r.int(1, 50)), r.int(-1000, 9000)] },
  { name: 'small_quantity_subquery', sql: `SELECT sum(l_extendedprice) / 7.0 AS avg_yearly FROM wl_lineitem JOIN wl_part ON p_partkey = l_partkey
      WHERE p_brand = $1 AND p_size < $2 AND l_quantity < (SELECT 0.2 * avg(l2.l_quantity) FROM wl_lineitem l2 WHERE l2.l_partkey = p_partkey)`,
    params: (r) => [brand(r), r.int(2, 51)] },
  { name: 'large_volume_customer_in', sql: `SELECT c_name, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity) FROM wl_customer
      JOIN wl_orders ON o_custkey = c_custkey JOIN wl_lineitem ON l_orderkey = o_orderkey
      WHERE o_orderkey IN (SELECT l_orderkey FROM wl_lineitem GROUP BY l_orderkey HAVING sum(l_quantity) > $1)
      GROUP BY c_name, o_orderkey, o_orderdate, o_totalprice ORDER BY o_totalprice DESC LIMIT 100`, params: (r) => [r.int(150, 320)] },
  { name: 'top_customers_window', sql: `SELECT * FROM (SELECT c_nationkey, c_custkey, sum(o_totalprice) AS spent,
      rank() OVER (PARTITION BY c_nationkey ORDER BY sum(o_totalprice) DESC) AS rk FROM wl_customer JOIN wl_orders ON o_custkey = c_custkey
      WHERE o_orderdate BETWEEN $1 AND $2 GROUP BY c_nationkey, c_custkey) t WHERE rk <= $3 ORDER BY c_nationkey, rk`,
    params: (r) => [...dateRange(r), r.int(1, 20)] },
  { name: 'monthly_revenue_cte', sql: `WITH monthly AS (SELECT date_trunc('month', l_shipdate) AS m, sum(l_extendedprice * (1 - l_discount)) AS rev
      FROM wl_lineitem WHERE l_shipdate BETWEEN $1 AND $2 GROUP BY 1)
      SELECT m, rev, rev - lag(rev) OVER (ORDER BY m) AS delta, avg(rev) OVER (ORDER BY m ROWS 2 PRECEDING) FROM monthly ORDER BY m`,
    params: (r) => dateRange(r) },
  { name: 'customer_orders_point', sql: `SELECT o_orderkey, o_orderdate, o_totalprice, count(l_linenumber) FROM wl_orders JOIN wl_lineitem ON l_orderkey = o_orderkey
      WHERE o_custkey = $1 GROUP BY o_orderkey ORDER BY o_orderdate DESC`, params: (r) => [r.int(1, 1500)] },
  { name: 'part_brand_sales_sort', sql: `SELECT p_partkey, p_name, sum(l_quantity) AS q FROM wl_part JOIN wl_lineitem ON l_partkey = p_partkey
      WHERE p_brand = $1 AND p_retailprice BETWEEN $2 AND $2 + $3 GROUP BY p_partkey, p_name ORDER BY q DESC, p_partkey LIMIT 25`,
    params: (r) => [brand(r), r.int(900, 1900), Math.round(Math.exp(r.uniform(0, Math.log(1100))))] },
  { name: 'nation_supplier_union', sql: `SELECT n_name, 'customer' AS kind, count(*) FROM wl_customer JOIN wl_nation ON n_nationkey = c_nationkey WHERE c_acctbal > $1 GROUP BY n_name
      UNION ALL SELECT n_name, 'supplier', count(*) FROM wl_supplier JOIN wl_nation ON n_nationkey = s_nationkey WHERE s_acctbal > $1 GROUP BY n_name ORDER BY 1, 2`,
    params: (r) => [r.int(-1000, 9900)] },
  { name: 'distinct_parts_by_date', sql: `SELECT count(DISTINCT l_partkey), count(DISTINCT l_suppkey) FROM wl_lineitem WHERE l_shipdate BETWEEN $1 AND $2`,
    params: (r) => dateRange(r) },
];
