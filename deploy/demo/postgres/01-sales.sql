-- Demo data for PondPilot Proxy: the "sales" database (PostgreSQL), attached as alias "sales".
-- Run once by the postgres image on first start (/docker-entrypoint-initdb.d), as POSTGRES_USER
-- in POSTGRES_DB. Plain SQL that PostgreSQL, MariaDB and DuckDB all accept (the tests load it
-- into DuckDB to check the demo query).

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    product_name VARCHAR(100) NOT NULL,
    category VARCHAR(50) NOT NULL,
    unit_price DECIMAL(10, 2) NOT NULL
);

INSERT INTO products (id, product_name, category, unit_price) VALUES
    (1, 'Duck Decoy', 'Outdoor', 24.50),
    (2, 'Pond Pump 300', 'Equipment', 129.00),
    (3, 'Lily Pad Kit', 'Plants', 18.75),
    (4, 'Water Test Strips', 'Supplies', 9.99),
    (5, 'Koi Food 2kg', 'Supplies', 32.40);

CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id),
    order_date DATE NOT NULL,
    quantity INTEGER NOT NULL,
    total_amount DECIMAL(10, 2) NOT NULL
);

INSERT INTO orders (order_id, customer_id, product_id, order_date, quantity, total_amount) VALUES
    (1001, 1, 2, '2024-01-03', 1, 129.00),
    (1002, 2, 1, '2024-01-04', 2, 49.00),
    (1003, 3, 5, '2024-01-07', 3, 97.20),
    (1004, 1, 4, '2024-01-09', 5, 49.95),
    (1005, 4, 3, '2024-01-12', 4, 75.00),
    (1006, 5, 2, '2024-01-15', 1, 129.00),
    (1007, 6, 1, '2024-01-18', 1, 24.50),
    (1008, 2, 5, '2024-01-21', 2, 64.80),
    (1009, 7, 3, '2024-01-25', 2, 37.50),
    (1010, 8, 2, '2024-02-01', 2, 258.00),
    (1011, 3, 4, '2024-02-03', 10, 99.90),
    (1012, 5, 1, '2024-02-06', 3, 73.50),
    (1013, 6, 5, '2024-02-10', 1, 32.40),
    (1014, 1, 3, '2024-02-14', 2, 37.50),
    (1015, 7, 2, '2024-02-19', 1, 129.00),
    (1016, 4, 4, '2024-02-23', 6, 59.94);
