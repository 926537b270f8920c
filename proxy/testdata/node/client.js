// Drives node-postgres against shardgate: plain queries, parameters (the
// extended protocol), named statements, a transaction, and errors.
// Usage: node client.js URL FIRST_ID
const { Client } = require('pg');

async function main() {
  const [url, first] = process.argv.slice(2);
  const base = parseInt(first, 10);
  const c = new Client({ connectionString: url });
  await c.connect();
  const out = {};
  for (let i = 0; i < 10; i++) {
    await c.query('INSERT INTO users (id, name) VALUES ($1, $2)', [base + i, 'node' + i]);
  }
  const r = await c.query({ name: 'get-user', text: 'SELECT name FROM users WHERE id = $1', values: [base + 3] });
  out.named = r.rows[0].name;
  const r2 = await c.query({ name: 'get-user', text: 'SELECT name FROM users WHERE id = $1', values: [base + 4] });
  out.named2 = r2.rows[0].name;
  out.simple = (await c.query(`SELECT name FROM users WHERE id = ${base + 5}`)).rows[0].name;
  await c.query('BEGIN');
  await c.query('UPDATE users SET name = $2 WHERE id = $1', [base, 'rolled back']);
  await c.query('ROLLBACK');
  out.afterRollback = (await c.query('SELECT name FROM users WHERE id = $1', [base])).rows[0].name;
  try {
    await c.query('UPDATE users SET id = id + 1 WHERE id = 1');
  } catch (e) {
    out.multiShardCode = e.code;
  }
  // A read on every shard, with a parameter (Parse/Bind/Describe portal/Execute).
  const sc = await c.query('SELECT count(*) AS n, min(id) AS lo, avg(id) AS mean FROM users WHERE id BETWEEN $1 AND $2', [base, base + 9]);
  out.scatter = [sc.rows[0].n, sc.rows[0].lo, sc.rows[0].mean].join(' ');
  out.products = (await c.query('SELECT count(*)::int AS n FROM products')).rows[0].n;
  await c.end();
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
