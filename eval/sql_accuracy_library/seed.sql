-- Deterministic sample rows: NULLs, a member registered twice, a member without a home
-- branch and without loans, a branch without loans, an author without books, an
-- anonymous book, books never borrowed, loans not returned, a loan with two fines.
INSERT INTO branches VALUES
    (1, 'Central', 'Springfield', DATE '1998-05-01'),
    (2, 'Riverside', 'Springfield', DATE '2005-09-15'),
    (3, 'Hillcrest', 'Shelbyville', DATE '2012-03-01'),
    (4, 'Oakwood', 'Shelbyville', DATE '2019-11-20'),
    (5, 'Harbor', 'Capital City', DATE '2023-06-10');

INSERT INTO members VALUES
    (1, 'Laura Chen', 'laura.chen@mail.com', 1, 'adult', DATE '2019-03-12'),
    (2, 'Marcus Reed', 'marcus.reed@mail.com', 1, 'senior', DATE '2015-07-01'),
    (3, 'Priya Nair', NULL, 2, 'adult', DATE '2021-01-20'),
    (4, 'Tom Okafor', 'tom.okafor@mail.com', 2, 'child', DATE '2022-09-05'),
    (5, 'Sofia Rossi', 'sofia.rossi@mail.com', 3, 'adult', DATE '2020-11-11'),
    (6, 'Daniel Kim', 'daniel.kim@mail.com', 3, 'adult', DATE '2023-02-14'),
    (7, 'Laura Chen', 'laura.chen@mail.com', 2, 'adult', DATE '2023-08-30'),
    (8, 'Helen Walsh', NULL, 4, 'senior', DATE '2018-04-04'),
    (9, 'Omar Haddad', 'omar.haddad@mail.com', 4, 'adult', DATE '2024-01-09'),
    (10, 'Ella Brooks', 'ella.brooks@mail.com', 1, 'child', DATE '2023-05-22'),
    (11, 'Victor Lang', 'victor.lang@mail.com', NULL, 'adult', DATE '2024-02-02'),
    (12, 'Nora Berg', 'nora.berg@mail.com', 3, 'senior', DATE '2016-10-10');

INSERT INTO authors VALUES
    (1, 'Toni Morrison', 1931, 'US'),
    (2, 'Gabriel Garcia Marquez', 1927, 'CO'),
    (3, 'Chimamanda Ngozi Adichie', 1977, 'NG'),
    (4, 'Haruki Murakami', 1949, 'JP'),
    (5, 'Jane Austen', 1775, 'GB'),
    (6, 'Terry Pratchett', 1948, 'GB'),
    (7, 'Elena Ferrante', NULL, 'IT'),
    (8, 'Ursula K. Le Guin', 1929, 'US'),
    (9, 'Liu Cixin', 1963, 'CN'),
    (10, 'Marta Kowalczyk', 1985, NULL);

INSERT INTO books VALUES
    (1, 'Beloved', 1, 'fiction', 1987, 324),
    (2, 'Song of Solomon', 1, 'fiction', 1977, 337),
    (3, 'One Hundred Years of Solitude', 2, 'fiction', 1967, 417),
    (4, 'Americanah', 3, 'fiction', 2013, 588),
    (5, 'Kafka on the Shore', 4, 'fiction', 2002, 505),
    (6, 'Norwegian Wood', 4, 'fiction', 1987, 296),
    (7, 'Pride and Prejudice', 5, 'classic', 1813, 432),
    (8, 'Emma', 5, 'classic', 1815, 474),
    (9, 'Guards! Guards!', 6, 'fantasy', 1989, 416),
    (10, 'Mort', 6, 'fantasy', 1987, 272),
    (11, 'My Brilliant Friend', 7, 'fiction', 2011, 331),
    (12, 'A Wizard of Earthsea', 8, 'fantasy', 1968, 183),
    (13, 'The Left Hand of Darkness', 8, 'science fiction', 1969, 304),
    (14, 'Walking Trails of Springfield', 10, 'nonfiction', 2021, 120),
    (15, 'Beowulf', NULL, 'classic', NULL, 182),
    (16, 'The Wee Free Men', 6, 'children', 2003, 375);

INSERT INTO loans VALUES
    (1001, 1, 1, 1, DATE '2024-01-05', DATE '2024-01-26', DATE '2024-01-20'),
    (1002, 9, 2, 1, DATE '2024-01-08', DATE '2024-01-29', DATE '2024-02-03'),
    (1003, 4, 3, 2, DATE '2024-01-15', DATE '2024-02-05', DATE '2024-02-05'),
    (1004, 12, 4, 2, DATE '2024-01-22', DATE '2024-02-12', DATE '2024-02-10'),
    (1005, 5, 5, 3, DATE '2024-02-01', DATE '2024-02-22', DATE '2024-03-04'),
    (1006, 3, 1, 1, DATE '2024-02-10', DATE '2024-03-02', DATE '2024-02-28'),
    (1007, 13, 6, 3, DATE '2024-02-14', DATE '2024-03-06', DATE '2024-03-20'),
    (1008, 10, 4, 2, DATE '2024-02-20', DATE '2024-03-12', DATE '2024-03-11'),
    (1009, 7, 8, 4, DATE '2024-03-01', DATE '2024-03-22', NULL),
    (1010, 9, 7, 2, DATE '2024-03-05', DATE '2024-03-26', DATE '2024-03-25'),
    (1011, 11, 5, 3, DATE '2024-03-18', DATE '2024-04-08', DATE '2024-04-15'),
    (1012, 6, 9, 4, DATE '2024-03-25', DATE '2024-04-15', DATE '2024-04-14'),
    (1013, 1, 2, 1, DATE '2024-04-02', DATE '2024-04-23', DATE '2024-05-01'),
    (1014, 16, 10, 1, DATE '2024-04-10', DATE '2024-05-01', DATE '2024-04-30'),
    (1015, 4, 12, 1, DATE '2024-04-22', DATE '2024-05-13', DATE '2024-05-13'),
    (1016, 2, 3, 2, DATE '2024-05-06', DATE '2024-05-27', NULL),
    (1017, 9, 1, 2, DATE '2024-05-15', DATE '2024-06-05', DATE '2024-06-01'),
    (1018, 15, 6, 3, DATE '2024-06-03', DATE '2024-06-24', NULL),
    (1019, 12, 9, 4, DATE '2024-06-12', DATE '2024-07-03', NULL),
    (1020, 5, 2, 1, DATE '2024-06-20', DATE '2024-07-11', NULL);

INSERT INTO fines VALUES
    (1, 1002, 'late', 1.25, DATE '2024-02-03', DATE '2024-02-03'),
    (2, 1005, 'late', 2.75, DATE '2024-03-04', DATE '2024-03-10'),
    (3, 1007, 'late', 3.50, DATE '2024-03-20', NULL),
    (4, 1007, 'damage', 8.00, DATE '2024-03-20', NULL),
    (5, 1008, 'damage', 5.00, DATE '2024-03-11', DATE '2024-03-11'),
    (6, 1011, 'late', 1.75, DATE '2024-04-15', DATE '2024-04-15'),
    (7, 1009, 'lost', 24.99, DATE '2024-04-30', NULL),
    (8, 1013, 'late', 2.00, DATE '2024-05-01', DATE '2024-05-20');
