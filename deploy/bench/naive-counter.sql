-- pgbench script: the per-hit counter this product replaces. One transaction per hit: keep the raw hit,
-- bump five period counters.
\set n random(1, 5000)
BEGIN;
INSERT INTO naive_hits (site, url, ip, user_agent, at) VALUES ('portal', 'https://portal.test/page/' || :n, '203.0.113.7', 'Mozilla/5.0', now());
INSERT INTO naive_counters VALUES ('portal', 'day', to_char(now(), 'YYYY-MM-DD'), 1) ON CONFLICT (site, period, key) DO UPDATE SET n = naive_counters.n + 1;
INSERT INTO naive_counters VALUES ('portal', 'week', to_char(now(), 'IYYY-"W"IW'), 1) ON CONFLICT (site, period, key) DO UPDATE SET n = naive_counters.n + 1;
INSERT INTO naive_counters VALUES ('portal', 'month', to_char(now(), 'YYYY-MM'), 1) ON CONFLICT (site, period, key) DO UPDATE SET n = naive_counters.n + 1;
INSERT INTO naive_counters VALUES ('portal', 'year', to_char(now(), 'YYYY'), 1) ON CONFLICT (site, period, key) DO UPDATE SET n = naive_counters.n + 1;
INSERT INTO naive_counters VALUES ('portal', 'total', 'all', 1) ON CONFLICT (site, period, key) DO UPDATE SET n = naive_counters.n + 1;
END;
