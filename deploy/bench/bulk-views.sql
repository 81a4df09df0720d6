-- Appends :count page views to the event store, as the service would have written them: 20 sites, a million
-- visitors, :pages pages on each site, one view every 3 seconds (so 10 million span about a year), one stream per
-- 1,000 events.
-- Used to make a large store quickly; the counters are then rebuilt from it by the service.
-- The rows are the service's own to the byte: stream ids ordered by time as Guid.CreateVersion7's are, visitor
-- hashes of 22 characters, times to 0.1 microsecond, no null referrer or title, no .NET type name.
CREATE TEMP TABLE bench_streams AS
  SELECT g AS n,
         (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint + g), 12, '0') || '7'
           || substr(md5(random()::text), 1, 19))::uuid AS id
  FROM generate_series(0, ceil(:count / 1000.0)::int - 1) g;
INSERT INTO mt_streams (id, version) SELECT id, 1000 FROM bench_streams;
INSERT INTO mt_events (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type)
SELECT nextval('mt_events_sequence'), gen_random_uuid(), s.id, (g % 1000) + 1,
       jsonb_build_object(
         'siteId', 'bench-' || (g % 20),
         'occurredAt', to_char(t AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '1+07:00',
         'visitorHash', left(translate(encode(decode(md5(((g::bigint * 7919) % 1000000)::text), 'hex'), 'base64'), '+/', '-_'), 22),
         'url', 'https://bench.test/page/' || ((g / 20) % :pages)),
       'page_viewed', now(), '*DEFAULT*', NULL
FROM generate_series(0, :count - 1) g
CROSS JOIN LATERAL (SELECT now() - interval '1 day' - ((:count - g) * interval '3 seconds') AS t) tt
JOIN bench_streams s ON s.n = g / 1000;
ANALYZE mt_events;
