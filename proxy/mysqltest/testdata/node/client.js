// Drives mysql2 against shardgate's MySQL endpoint: text queries with
// client-side escaping (query), server-side prepared statements
// (execute: COM_STMT_PREPARE / COM_STMT_EXECUTE), a rolled back
// transaction, a read on both shards, an auto-increment insert id, and a
// syntax error after which the connection still works.
// Usage: node client.js HOST PORT ID_ON_SHARD_A ID_ON_SHARD_B
const mysql = require('mysql2/promise');

async function main() {
  const [host, port, a, b] = process.argv.slice(2);
  const ids = [BigInt(a), BigInt(b)];
  const c = await mysql.createConnection({
    host, port: parseInt(port, 10), user: 'app', password: 'app', database: 'app',
    supportBigNumbers: true, bigNumberStrings: true,
  });
  const out = {};
  for (const id of ids) {
    await c.query('DELETE FROM users WHERE id = ?', [id.toString()]);
    await c.execute('INSERT INTO users (id, name) VALUES (?, ?)', [id.toString(), 'node ü 🐬 ' + id]);
  }
  const [r1] = await c.execute('SELECT name FROM users WHERE id = ?', [ids[1].toString()]);
  out.executed = r1[0].name;
  const [r2] = await c.execute('SELECT name FROM users WHERE id = ?', [ids[0].toString()]);
  out.executedAgain = r2[0].name;
  const [r3] = await c.query('SELECT name FROM users WHERE id = ?', [ids[0].toString()]);
  out.queried = r3[0].name;
  await c.beginTransaction();
  await c.execute('UPDATE users SET name = ? WHERE id = ?', ['rolled back', ids[0].toString()]);
  await c.rollback();
  const [r4] = await c.query('SELECT name FROM users WHERE id = ?', [ids[0].toString()]);
  out.afterRollback = r4[0].name;
  const [r5] = await c.execute('SELECT COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi FROM users WHERE id IN (?, ?)', [a, b]);
  out.scatter = [r5[0].n, r5[0].lo, r5[0].hi].join(' ');
  const [ins] = await c.execute('INSERT INTO events (user_id, note) VALUES (?, ?)', [a, 'node']);
  const [li] = await c.query('SELECT LAST_INSERT_ID() AS id');
  out.insertIdMatches = String(ins.insertId) === String(li[0].id) && Number(ins.insertId) > 0;
  try {
    await c.query('SELEKT 1');
  } catch (e) {
    out.syntaxError = e.errno + ' ' + e.sqlState;
  }
  const [r6] = await c.query('SELECT name FROM products WHERE id = 2');
  out.afterError = r6[0].name;
  await c.end();
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
