-- Appends :count page views to the event store, as the service would have written them: 20 sites, a million
-- visitors, one view every 3 seconds (so 10 million span about a year), one stream per 1,000 events.
-- Used to make a large store quickly; the counters are then rebuilt from it by the service.
CREATE TEMP TABLE bench_streams AS
  SELECT g AS n, gen_random_uuid() AS id FROM generate_series(0, ceil(:count / 1000.0)::int - 1) g;
INSERT INTO mt_streams (id, version) SELECT id, 1000 FROM bench_streams;
INSERT INTO mt_events (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type)
SELECT nextval('mt_events_sequence'), gen_random_uuid(), s.id, (g % 1000) + 1,
       jsonb_build_object(
         'siteId', 'bench-' || (g % 20),
         'occurredAt', to_char(t AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD"T"HH24:MI:SS') || '+07:00',
         'day', to_char(t AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD'),
         'visitorHash', md5(((g::bigint * 7919) % 1000000)::text),
         'url', 'https://bench.test/page/' || (g % 5000),
         'referrer', NULL, 'title', NULL),
       'page_viewed', now(), '*DEFAULT*', 'CCHC.Stats.Api.Ingestion.PageViewed, CCHC.Stats.Api'
FROM generate_series(0, :count - 1) g
CROSS JOIN LATERAL (SELECT now() - interval '1 day' - ((:count - g) * interval '3 seconds') AS t) tt
JOIN bench_streams s ON s.n = g / 1000;
ANALYZE mt_events;
