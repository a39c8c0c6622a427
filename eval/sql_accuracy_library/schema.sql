-- A public lending library: members borrow books at branches; late, damaged or lost
-- books cost a fine. Some values are missing (NULL).
CREATE TABLE branches (
    branch_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    city VARCHAR NOT NULL,
    opened_date DATE NOT NULL
);

CREATE TABLE members (
    member_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    email VARCHAR,             -- NULL when unknown; one person registered twice
    home_branch_id INTEGER,    -- branch where the card was issued; NULL for online sign-ups
    membership VARCHAR NOT NULL, -- 'adult', 'child', 'senior'
    joined_date DATE NOT NULL
);

CREATE TABLE authors (
    author_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    birth_year INTEGER,        -- NULL when unknown
    country VARCHAR            -- ISO code such as 'US', 'GB'; NULL when unknown
);

CREATE TABLE books (
    book_id INTEGER PRIMARY KEY,
    title VARCHAR NOT NULL,
    author_id INTEGER,         -- NULL for anonymous works
    genre VARCHAR NOT NULL,    -- 'fiction', 'classic', 'fantasy', 'science fiction', 'nonfiction', 'children'
    published_year INTEGER,    -- year of first publication; NULL when unknown
    pages INTEGER NOT NULL
);

CREATE TABLE loans (
    loan_id INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL,
    member_id INTEGER NOT NULL,
    branch_id INTEGER NOT NULL, -- branch where the book was borrowed
    borrowed_date DATE NOT NULL,
    due_date DATE NOT NULL,    -- 21 days after borrowed_date
    returned_date DATE         -- NULL while the book has not been returned
);

CREATE TABLE fines (
    fine_id INTEGER PRIMARY KEY,
    loan_id INTEGER NOT NULL,  -- a loan can have several fines
    reason VARCHAR NOT NULL,   -- 'late', 'damage', 'lost'
    amount DECIMAL(6, 2) NOT NULL,
    issued_date DATE NOT NULL,
    paid_date DATE             -- NULL while the fine is unpaid
);
