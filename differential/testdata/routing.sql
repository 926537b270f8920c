-- Key values in every spelling: a wrong shard shows as missing rows.
SELECT * FROM users WHERE id = '5';
SELECT * FROM users WHERE id = 5.0;
SELECT * FROM users WHERE id = '0005';
SELECT * FROM users WHERE id = ' 6';
SELECT * FROM users WHERE id = 5::smallint;
SELECT * FROM users WHERE id = 5::numeric;
SELECT * FROM users WHERE 5 = id;
SELECT * FROM users WHERE (id) = (5);
SELECT * FROM users WHERE id::text = '5';
SELECT * FROM users WHERE id = 3 + 2;
SELECT * FROM users WHERE id = -1;
SELECT * FROM users WHERE id = -20;
SELECT * FROM users WHERE id = 9223372036854775807;
SELECT * FROM users WHERE id = -9223372036854775808;
SELECT * FROM users WHERE id = 5 AND id = 6;
SELECT * FROM users WHERE id = 5 OR name = 'Zoë' AND id < 100;
SELECT * FROM users WHERE id IN (NULL, 5);
SELECT * FROM users WHERE id = NULL;
SELECT * FROM users WHERE id IS NULL;
SELECT * FROM users WHERE id IN (1, '2', 3.0, '0004');
SELECT * FROM users WHERE id = ANY (ARRAY[1, 2000, 3999]);
SELECT * FROM users WHERE id BETWEEN 5 AND 5;
SELECT * FROM users WHERE NOT id <> 5;
SELECT * FROM users WHERE id = 5 AND level = level;
SELECT * FROM users WHERE id IN (5) OR id IN (6);
SELECT * FROM users u WHERE u.id = 7;
SELECT * FROM users AS u WHERE u.id IN (7, 8, 9) ORDER BY u.id;
SELECT * FROM orders WHERE user_id = 5 AND id > 0 ORDER BY id;
SELECT * FROM orders WHERE user_id = '5' ORDER BY id;
SELECT * FROM orders WHERE user_id IN ('5', '3000') ORDER BY user_id, id;
SELECT * FROM orders WHERE user_id = 5 OR user_id = 3000 ORDER BY user_id, id;
SELECT * FROM users WHERE id = 900001;
SELECT * FROM users WHERE id IN (900001, 900002, 900003, 900004) ORDER BY id;
SELECT * FROM orders o WHERE o.user_id = 77 AND o.product_id IN (SELECT id FROM products);
-- args: '5'
SELECT * FROM users WHERE id = $1;
-- args: '3999'
SELECT * FROM orders WHERE user_id = $1 ORDER BY id;
-- args: 5
SELECT * FROM users WHERE id = $1::int;
-- args: 5 3000
SELECT * FROM users WHERE id IN ($1, $2) ORDER BY id;
-- args: 5 5
SELECT * FROM users WHERE id IN ($1, $2);
-- args: -20
SELECT * FROM users WHERE id = $1;
