-- A small shop: customers place orders of products. Some values are missing (NULL).
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    email VARCHAR,             -- NULL when unknown; one person signed up twice
    country VARCHAR,           -- ISO code such as 'US', 'FR'; NULL when unknown
    signup_date DATE NOT NULL
);

CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    category VARCHAR NOT NULL, -- 'electronics', 'kitchen', 'home', 'stationery'
    unit_price DECIMAL(10, 2) NOT NULL  -- list price
);

CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER,       -- NULL for guest checkouts
    order_date DATE NOT NULL,
    status VARCHAR NOT NULL    -- 'placed', 'shipped', 'delivered', 'cancelled'
);

CREATE TABLE order_items (
    order_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price DECIMAL(10, 2) NOT NULL, -- price charged, may differ from the list price
    discount DECIMAL(4, 2)     -- fraction off the line, e.g. 0.10; NULL means none
);
