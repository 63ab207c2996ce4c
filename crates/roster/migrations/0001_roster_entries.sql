-- One row per day. IF NOT EXISTS: two app nodes may start and migrate at once.
CREATE TABLE IF NOT EXISTS roster_entries (
    day DATE NOT NULL PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    team VARCHAR(100) NULL,
    contact VARCHAR(100) NULL,
    note VARCHAR(500) NULL,
    updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
