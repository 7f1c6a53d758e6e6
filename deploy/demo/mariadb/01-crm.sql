-- Demo data for PondPilot Proxy: the "crm" database (MariaDB), attached as alias "crm".
-- Run once by the mariadb image on first start (/docker-entrypoint-initdb.d), in MARIADB_DATABASE.
-- Plain SQL that PostgreSQL, MariaDB and DuckDB all accept (the tests load it into DuckDB).

CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    customer_name VARCHAR(100) NOT NULL,
    email VARCHAR(200) NOT NULL,
    region VARCHAR(50) NOT NULL,
    tier VARCHAR(20) NOT NULL
);

INSERT INTO customers (id, customer_name, email, region, tier) VALUES
    (1, 'Ada Mallard', 'ada@example.com', 'Europe', 'gold'),
    (2, 'Bo Teal', 'bo@example.com', 'North America', 'silver'),
    (3, 'Cy Pintail', 'cy@example.com', 'Europe', 'silver'),
    (4, 'Di Wigeon', 'di@example.com', 'Asia Pacific', 'bronze'),
    (5, 'Ed Gadwall', 'ed@example.com', 'North America', 'gold'),
    (6, 'Flo Shoveler', 'flo@example.com', 'Asia Pacific', 'silver'),
    (7, 'Gus Eider', 'gus@example.com', 'Europe', 'bronze'),
    (8, 'Hal Scaup', 'hal@example.com', 'North America', 'gold');
