DROP TABLE IF EXISTS naive_hits, naive_counters;
CREATE TABLE naive_hits (id bigserial PRIMARY KEY, site text NOT NULL, url text NOT NULL, ip text, user_agent text, at timestamptz NOT NULL);
CREATE TABLE naive_counters (site text, period text, key text, n bigint NOT NULL, PRIMARY KEY (site, period, key));
