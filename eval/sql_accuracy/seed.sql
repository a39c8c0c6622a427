-- Deterministic sample rows: NULLs, a duplicated customer, a duplicated order line,
-- a guest order, an order without items, a customer without orders, a product never sold.
INSERT INTO customers VALUES
    (1, 'Alice Martin', 'alice@example.com', 'FR', DATE '2023-01-15'),
    (2, 'Bob Smith', 'bob@example.com', 'US', DATE '2023-02-03'),
    (3, 'Chen Wei', NULL, 'CN', DATE '2023-02-20'),
    (4, 'Dana Lopez', 'dana@example.com', 'US', DATE '2023-03-11'),
    (5, 'Erik Berg', 'erik@example.com', NULL, DATE '2023-04-02'),
    (6, 'Fatima Khan', 'fatima@example.com', 'GB', DATE '2023-05-19'),
    (7, 'Alice Martin', 'alice@example.com', 'FR', DATE '2023-06-01'),
    (8, 'Goro Tanaka', 'goro@example.com', 'JP', DATE '2023-07-07'),
    (9, 'Hana Novak', NULL, NULL, DATE '2023-08-30'),
    (10, 'Ivan Petrov', 'ivan@example.com', 'US', DATE '2024-01-05');

INSERT INTO products VALUES
    (1, 'Laptop', 'electronics', 1200.00),
    (2, 'Headphones', 'electronics', 150.00),
    (3, 'Coffee Mug', 'kitchen', 12.50),
    (4, 'Desk Lamp', 'home', 45.00),
    (5, 'Notebook', 'stationery', 3.20),
    (6, 'Blender', 'kitchen', 89.99),
    (7, 'Monitor', 'electronics', 300.00),
    (8, 'Pen Set', 'stationery', 8.75);

INSERT INTO orders VALUES
    (101, 1, DATE '2024-01-03', 'delivered'),
    (102, 2, DATE '2024-01-05', 'delivered'),
    (103, 2, DATE '2024-01-20', 'shipped'),
    (104, 3, DATE '2024-02-02', 'cancelled'),
    (105, 4, DATE '2024-02-14', 'delivered'),
    (106, NULL, DATE '2024-02-15', 'delivered'),
    (107, 6, DATE '2024-03-01', 'placed'),
    (108, 7, DATE '2024-03-03', 'delivered'),
    (109, 8, DATE '2024-03-10', 'shipped'),
    (110, 1, DATE '2024-03-22', 'delivered'),
    (111, 10, DATE '2024-04-01', 'placed'),
    (112, 4, DATE '2024-04-02', 'cancelled'),
    (113, 5, DATE '2024-04-18', 'delivered'),
    (114, 2, DATE '2024-04-30', 'delivered');

INSERT INTO order_items VALUES
    (101, 1, 1, 1200.00, 0.10),
    (101, 3, 2, 12.50, NULL),
    (102, 2, 1, 150.00, NULL),
    (102, 5, 10, 3.20, NULL),
    (103, 7, 2, 300.00, 0.05),
    (104, 6, 1, 89.99, NULL),
    (105, 4, 1, 45.00, NULL),
    (105, 3, 4, 12.50, NULL),
    (106, 2, 2, 150.00, 0.20),
    (107, 1, 1, 1200.00, NULL),
    (108, 5, 5, 3.20, NULL),
    (108, 5, 5, 3.20, NULL),
    (109, 7, 1, 300.00, NULL),
    (109, 2, 1, 150.00, NULL),
    (110, 6, 1, 89.99, 0.10),
    (110, 3, 1, 12.50, NULL),
    (112, 4, 2, 45.00, NULL),
    (113, 1, 1, 1150.00, NULL),
    (113, 4, 1, 45.00, NULL),
    (114, 5, 3, 3.20, NULL);
