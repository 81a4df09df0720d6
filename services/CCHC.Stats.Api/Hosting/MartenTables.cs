using CCHC.Stats.Api.Audit;
using CCHC.Stats.Api.Counters;
using Marten;
using Npgsql;
using NpgsqlTypes;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// The one place that knows the SQL of Marten's tables: the events (<c>mt_events</c>: its columns, the fields of its JSON
/// and the indexes the service adds to it), the projection's progress (<c>mt_event_progression</c>), the streams' key,
/// and the one document read in SQL (<see cref="RebuildStatus"/>). Everything else asks it for a statement, runs it
/// alone or in a batch with others, and reads the columns it names; or uses Marten's API. The SQL of the service's own
/// tables is their stores' (<see cref="CountStore"/>, <see cref="VisitorDayStore"/>, <see cref="Operations.TrafficLog"/>).
/// </summary>
/// <remarks>
/// The statements select rows (a site, a range of days or sequences, a kind of fact); none counts. Which rows count, and
/// how, is the counting rules' to say (<see cref="CounterBook"/>, <see cref="DayRecount"/>, <see cref="StandingBaseline"/>).
/// </remarks>
public sealed class MartenTables(IDocumentStore store, NpgsqlDataSource database)
{
    /// <summary>
    /// Index for the per-site reads of raw events (as-of counters, online as of a moment, the audit export):
    /// views of one site-day in sequence order. Marten does not model indexes on its event table, so it is
    /// created with the schema (<see cref="IndexesSql"/>) and Marten is told to leave it alone.
    /// </summary>
    /// <remarks>
    /// The key is (site, day, local ten minutes) without the sequence: every view of a site's ten minutes then has the
    /// same key, and PostgreSQL's B-tree deduplication keeps one key per list of row pointers (23 bytes a view on the
    /// bench's store, a view a minute a site, grown view by view; 13 keyed by the hour; ~88 for a unique key). Readers
    /// that want sequence order sort the rows they read.
    /// The local ten minutes are the first 15 characters of the view's <c>occurredAt</c>, which events write in the site's
    /// local offset (<c>2026-11-29T14:2</c>, <see cref="IndexedLocalTime"/>): an <c>asOf</c> reads its open ten minutes
    /// without the hour's earlier ones (keyed by the hour, it fetched the whole hour's views to keep the last few).
    /// </remarks>
    public const string SiteDayIndex = "ix_mt_events_site_day_ten_minutes_v8";

    /// <summary>
    /// The site-local day of an event, as SQL: for a view, the first ten characters of its <c>occurredAt</c>, which it
    /// writes in the site's local offset (<see cref="Ingestion.PageViewed.Day"/>; views stored by earlier versions also
    /// carry the same date as <c>day</c>, not read); for the other facts, which have no <c>occurredAt</c>, their
    /// <c>day</c>. Every statement that selects or reads events by day says it with this expression, the one
    /// <see cref="SiteDayIndex"/> is keyed by, so that PostgreSQL matches it.
    /// </summary>
    public const string DayOf = "coalesce(left(data ->> 'occurredAt', 10), data ->> 'day')";

    /// <summary>
    /// A view's local ten minutes, as SQL: the first 15 characters of its <c>occurredAt</c> (<see cref="IndexedLocalTime"/>
    /// in C#). The index and the reads say it with this one expression, so that PostgreSQL matches them.
    /// </summary>
    private const string TenMinutesOf = "left(data ->> 'occurredAt', 15)";

    /// <summary>The site-day index's earlier versions, dropped at start (the store keeps one).</summary>
    private static readonly string[] EarlierSiteDayIndexes =
    [
        "ix_mt_events_site_day", "ix_mt_events_site_day_v2", "ix_mt_events_site_day_v3", "ix_mt_events_site_day_v4",
        "ix_mt_events_site_day_hour_v5", "ix_mt_events_site_day_hour_v6", "ix_mt_events_site_day_ten_minutes_v7",
    ];

    /// <summary>A local moment as <see cref="SiteDayIndex"/> keys its view: the first 15 characters, to the ten minutes.</summary>
    public static string IndexedLocalTime(DateTimeOffset local) => PeriodKeys.TenMinutesKey(local)[..15];

    /// <summary>
    /// The index's bounds for the views between two local moments (<see cref="ViewHistory.Range.FromLocal"/>,
    /// <see cref="ViewHistory.Range.ToLocal"/>). The local time runs backwards where the clocks go back (02:59+02:00, then
    /// 02:00+01:00), so the first is written in the smaller of their offsets and the second in the larger: the bounds then
    /// hold both passes of a repeated hour. Not given, a bound holds every view, so the index always reads its ten minutes'
    /// column (an "IS NULL OR" kept the generic plan from using it: an hour's read fetched its whole day).
    /// </summary>
    public static (string From, string To) IndexedLocalRange(DateTimeOffset? from, DateTimeOffset? to)
    {
        if (from is { } first && to is { } last)
        {
            var (smaller, larger) = first.Offset < last.Offset ? (first.Offset, last.Offset) : (last.Offset, first.Offset);
            (from, to) = (first.ToOffset(smaller), last.ToOffset(larger));
        }

        return (from is { } low ? IndexedLocalTime(low) : "", to is { } high ? IndexedLocalTime(high) : "9999");
    }

    /// <summary>
    /// Index for a site's baselines (every <c>asOf</c> read applies them): without it the site-day index served the
    /// query by reading every event of the site, 14 ms for 10,000 views and growing with the history.
    /// </summary>
    public const string BaselineIndex = "ix_mt_events_site_baselines_v2";

    /// <summary>Index for the baselines of a site's pages, by page (a page's figures <c>asOf</c> a moment add them).</summary>
    public const string PageBaselineIndex = "ix_mt_events_page_baselines_v1";

    /// <summary>
    /// Index for a site's newest page baseline (a live most-read list of all time asks whether one came since it read
    /// the pages' rows): one entry read, where the index by page holds all of a site's pages' baselines.
    /// </summary>
    public const string NewestPageBaselineIndex = "ix_mt_events_page_baselines_by_seq_v1";

    /// <summary>Marten's primary key of its stream table: what a second concurrent creation of one stream collides on.</summary>
    public const string StreamKey = "pkey_mt_streams_id";

    /// <summary>The facts that change a number, as SQL literals: what the counters replay and a seal's chain covers.</summary>
    private const string CountedKinds = "'page_viewed', 'baseline_recorded', 'baseline_withdrawn', 'page_baseline_recorded'";

    /// <summary>The facts of a site's history (<see cref="HistoryCommand"/>): the counted ones and the seals.</summary>
    private const string HistoryKinds = $"{CountedKinds}, 'day_sealed'";

    private string Schema => store.Options.Events.DatabaseSchemaName;

    private string Events => $"{Schema}.mt_events";

    // The event store's sequence and the counter projection's progress. The newest event is the highest stored
    // sequence, not the sequence's value: a rolled-back append leaves numbers no event holds.

    /// <summary>The statement that reads the newest stored event's sequence (0 for an empty store).</summary>
    public NpgsqlBatchCommand NewestCommand() => new(NewestSql);

    private string NewestSql => $"SELECT coalesce(max(seq_id), 0) FROM {Events}";

    /// <summary>The statement that reads the counter projection's mark: the last sequence it applied (0 before any).</summary>
    public NpgsqlBatchCommand CountersCommand() => Command(CountersSql("$1"), CounterProjection.ShardName);

    private string CountersSql(string name) => $"SELECT coalesce((SELECT last_seq_id FROM {Schema}.mt_event_progression WHERE name = {name}), 0)";

    /// <summary>The statement that reads when the oldest event after <paramref name="sequence"/> was stored (none: no row).</summary>
    public NpgsqlBatchCommand StoredAfterCommand(long sequence) =>
        Command($"SELECT timestamp FROM {Events} WHERE seq_id > $1 AND type <> 'tombstone' ORDER BY seq_id LIMIT 1", sequence);

    public async Task<long> NewestAsync(CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(NewestCommand());
        return (long)(await batch.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// The statement that sets the counter projection's mark as the daemon keeps it: what a replay writes with each
    /// page, in the page's transaction.
    /// </summary>
    public NpgsqlBatchCommand SetCountersCommand(long sequence) => Command(
        $"""
        INSERT INTO {Schema}.mt_event_progression (name, last_seq_id, last_updated) VALUES ($1, $2, now())
        ON CONFLICT (name) DO UPDATE SET last_seq_id = excluded.last_seq_id, last_updated = now()
        """, CounterProjection.ShardName, sequence);

    /// <summary>
    /// In the daemon's own session: the projection's stored mark, and the last event stored before
    /// <paramref name="firstSequence"/> (what <see cref="VisitorDayCache"/> needs to trust what it holds).
    /// </summary>
    public static async Task<(long Progress, long LastBefore)> AroundAsync(IDocumentOperations operations, long firstSequence, CancellationToken ct)
    {
        var schema = operations.DocumentStore.Options.Events.DatabaseSchemaName;
        var values = await operations.QueryAsync<long>(
            $"SELECT v FROM (VALUES (1, coalesce((SELECT last_seq_id FROM {schema}.mt_event_progression WHERE name = ?), 0)), " +
            $"(2, coalesce((SELECT max(seq_id) FROM {schema}.mt_events WHERE seq_id < ?), 0))) AS x(k, v) ORDER BY k",
            ct, CounterProjection.ShardName, firstSequence);
        return (values[0], values[1]);
    }

    /// <summary>
    /// The statement for the next page of facts the counters replay: <c>seq_id, type, data</c> after
    /// <paramref name="after"/> up to <paramref name="ceiling"/>, in sequence order.
    /// </summary>
    public NpgsqlBatchCommand CountedFactsCommand(long after, long ceiling, int limit) => Command(
        $"""
        SELECT seq_id, type, data::text FROM {Events}
        WHERE seq_id > $1 AND seq_id <= $2 AND type IN ({CountedKinds})
        ORDER BY seq_id LIMIT {limit}
        """, after, ceiling);

    // A site's page views, through the site-day index.

    /// <summary>
    /// The statement for a range's views: <c>day, seq_id, visitorHash, occurredAt</c>, and with
    /// <paramref name="withSources"/> also <c>referrer, url</c>; by day, each day's in sequence order (the site-day
    /// index gives the days in order; PostgreSQL sorts each day's rows).
    /// </summary>
    public NpgsqlBatchCommand ViewsCommand(ViewHistory.Range range, bool withSources) => Views(
        withSources
            ? $"{DayOf}, seq_id, data ->> 'visitorHash', (data ->> 'occurredAt')::timestamptz, data ->> 'referrer', data ->> 'url'"
            : $"{DayOf}, seq_id, data ->> 'visitorHash', (data ->> 'occurredAt')::timestamptz",
        range, $"ORDER BY {DayOf}, seq_id");

    /// <summary>The statement for a range's views' <c>day, url</c>, in no order.</summary>
    public NpgsqlBatchCommand ViewUrlsCommand(ViewHistory.Range range) => Views($"{DayOf}, data ->> 'url'", range, "");

    private NpgsqlBatchCommand Views(string columns, ViewHistory.Range range, string orderBy)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT {columns}
            FROM {Events}
            WHERE type = 'page_viewed' AND data ->> 'siteId' = $1 AND {DayOf} >= $2 AND {DayOf} <= $3
              AND ($4::timestamptz IS NULL OR (data ->> 'occurredAt')::timestamptz > $4)
              AND ($5::timestamptz IS NULL OR (data ->> 'occurredAt')::timestamptz <= $5)
              AND ($6::bigint IS NULL OR seq_id <= $6)
              AND {TenMinutesOf} >= $7 AND {TenMinutesOf} <= $8
            {orderBy}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = range.SiteId });
        command.Parameters.Add(new NpgsqlParameter { Value = DayKey(range.First) });
        command.Parameters.Add(new NpgsqlParameter { Value = DayKey(range.Last) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)range.After?.ToUniversalTime() ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)range.UpTo?.ToUniversalTime() ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)range.UpToSequence ?? DBNull.Value });
        var (from, to) = IndexedLocalRange(range.FromLocal, range.ToLocal);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = from });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = to });
        return command;
    }

    // Baselines, through their indexes.

    /// <summary>The statement for a site's baselines and withdrawals: <c>seq_id, type, data</c>, in sequence order.</summary>
    public NpgsqlBatchCommand SiteBaselinesCommand(string siteId) => Command(
        $"""
        SELECT seq_id, type, data::text FROM {Events}
        WHERE type IN ('baseline_recorded', 'baseline_withdrawn') AND data ->> 'siteId' = $1 ORDER BY seq_id
        """, siteId);

    /// <summary>The statement for the baselines of a site's pages, or of one page: <c>page, asOf, pageViews</c>.</summary>
    public NpgsqlBatchCommand PageBaselinesCommand(string siteId, string? page)
    {
        var command = Command(
            $"""
            SELECT data ->> 'page', (data ->> 'asOf')::timestamptz, (data ->> 'pageViews')::bigint FROM {Events}
            WHERE type = 'page_baseline_recorded' AND data ->> 'siteId' = $1 AND ($2::varchar IS NULL OR data ->> 'page' = $2)
            """, siteId);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Varchar, Value = (object?)page ?? DBNull.Value });
        return command;
    }

    /// <summary>The statement for the sequence of a site's newest page baseline (0 when it has none).</summary>
    public NpgsqlBatchCommand NewestPageBaselineCommand(string siteId) => Command(
        $"SELECT coalesce(max(seq_id), 0) FROM {Events} WHERE type = 'page_baseline_recorded' AND data ->> 'siteId' = $1", siteId);

    /// <summary>The statement for what all of a site's page baselines add up to (one <c>bigint</c>).</summary>
    public NpgsqlBatchCommand PageBaselinesTotalCommand(string siteId) => Command(
        $"SELECT coalesce(sum((data ->> 'pageViews')::numeric), 0)::bigint FROM {Events} WHERE type = 'page_baseline_recorded' AND data ->> 'siteId' = $1",
        siteId);

    // Seals and the audit's history.

    /// <summary>The statement for a site's seals: <c>seq_id, data</c>, in sequence order.</summary>
    public NpgsqlBatchCommand SealsCommand(string siteId) =>
        Command($"SELECT seq_id, data::text FROM {Events} WHERE type = 'day_sealed' AND data ->> 'siteId' = $1 ORDER BY seq_id", siteId);

    /// <summary>The statement for every hash a site's seals ever had: <c>hash</c>.</summary>
    public NpgsqlBatchCommand SealHashesCommand(string siteId) =>
        Command($"SELECT data ->> 'hash' FROM {Events} WHERE type = 'day_sealed' AND data ->> 'siteId' = $1", siteId);

    /// <summary>The statement for the counted facts of each day of a site: <c>day, count, max(seq_id)</c>.</summary>
    public NpgsqlBatchCommand FactsPerDayCommand(string siteId) => Command(
        $"SELECT {DayOf}, count(*), max(seq_id) FROM {Events} WHERE data ->> 'siteId' = $1 AND type IN ({CountedKinds}) GROUP BY 1", siteId);

    /// <summary>
    /// The statement for the counted facts of a site-day up to a sequence, as a seal's chain covers them:
    /// <c>seq_id, type, data</c> (the data as PostgreSQL's canonical jsonb text), in sequence order.
    /// </summary>
    public NpgsqlBatchCommand DayFactsCommand(string siteId, DateOnly day, long upToSequence) => Command(
        $"""
        SELECT seq_id, type, data::text FROM {Events}
        WHERE data ->> 'siteId' = $1 AND {DayOf} = $2 AND type IN ({CountedKinds}) AND seq_id <= $3
        ORDER BY seq_id
        """, siteId, DayKey(day), upToSequence);

    /// <summary>
    /// The statement for a site's history up to <paramref name="ceiling"/>, in sequence order: <c>seq_id, type, data, day</c>.
    /// Facts are chosen by their moment in [<paramref name="from"/>, <paramref name="to"/>), seals by the day they seal in
    /// [<paramref name="fromDay"/>, <paramref name="toDay"/>]; a bound not given does not narrow.
    /// </summary>
    public NpgsqlBatchCommand HistoryCommand(string siteId, long ceiling, DateTimeOffset? from, DateTimeOffset? to, DateOnly? fromDay, DateOnly? toDay)
    {
        var command = Command(
            $"""
            SELECT seq_id, type, data::text, {DayOf}
            FROM (
                SELECT seq_id, type, data,
                       (coalesce(data ->> 'occurredAt', data ->> 'asOf', data ->> 'withdrawnAt', data ->> 'sealedAt'))::timestamptz AS at
                FROM {Events}
                WHERE data ->> 'siteId' = $1 AND type IN ({HistoryKinds}) AND seq_id <= $2
                  AND ($3::timestamptz IS NULL OR {DayOf} >= to_char($3::timestamptz - interval '1 day', 'YYYY-MM-DD'))
                  AND ($4::timestamptz IS NULL OR {DayOf} <= to_char($4::timestamptz + interval '1 day', 'YYYY-MM-DD'))
            ) history
            WHERE CASE WHEN type = 'day_sealed'
                       THEN ($5::text IS NULL OR {DayOf} >= $5) AND ($6::text IS NULL OR {DayOf} <= $6)
                       ELSE ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4) END
            ORDER BY seq_id
            """, siteId, ceiling);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)from?.ToUniversalTime() ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)to?.ToUniversalTime() ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)(fromDay is { } f ? DayKey(f) : null) ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)(toDay is { } t ? DayKey(t) : null) ?? DBNull.Value });
        return command;
    }

    // The one document read in SQL, to batch it with the reads it guards.

    /// <summary>
    /// The statement that reads, from one snapshot, the newest stored event's sequence, the counter projection's mark and
    /// 1 while a rebuild of the counters runs (else 0): what an <c>asOf</c> read checks before it trusts the counts.
    /// </summary>
    public NpgsqlBatchCommand ProjectionStateCommand() => Command(
        $"SELECT ({NewestSql}), ({CountersSql("$1")}), ({RebuildRunningSql("$2", "$3")})",
        CounterProjection.ShardName, RebuildStatus.SingletonId, RebuildStatus.Running);

    /// <summary>The statement that reads 1 while a rebuild of the counters runs, else 0.</summary>
    public NpgsqlBatchCommand RebuildRunningCommand() => Command(RebuildRunningSql("$1", "$2"), RebuildStatus.SingletonId, RebuildStatus.Running);

    private string RebuildRunningSql(string id, string state) =>
        $"SELECT count(*) FROM {store.Options.Schema.For<RebuildStatus>()} WHERE id = {id} AND data ->> 'state' = {state}";

    // The schema Marten does not model.

    /// <summary>The statement that reads whether the store holds any fact of a site's history.</summary>
    public string HasHistorySql() => $"EXISTS (SELECT 1 FROM {Events} WHERE type IN ({HistoryKinds}))";

    /// <summary>
    /// The indexes the service adds to the event table (Marten leaves them alone: <see cref="EventStore"/>), made if
    /// missing, their earlier versions dropped; and the event table analysed, so that a new store's daemon does not
    /// crawl on missing statistics.
    /// </summary>
    public string IndexesSql() =>
        $"""
        {string.Concat(EarlierSiteDayIndexes.Select(index => $"DROP INDEX IF EXISTS {Schema}.{index};\n"))}
        CREATE INDEX IF NOT EXISTS {SiteDayIndex} ON {Events} ((data ->> 'siteId'), ({DayOf}), {TenMinutesOf})
            WHERE type IN ({HistoryKinds});
        CREATE INDEX IF NOT EXISTS {BaselineIndex} ON {Events} ((data ->> 'siteId'), seq_id)
            WHERE type IN ('baseline_recorded', 'baseline_withdrawn');
        DROP INDEX IF EXISTS {Schema}.ix_mt_events_site_baselines;
        CREATE INDEX IF NOT EXISTS {PageBaselineIndex} ON {Events} ((data ->> 'siteId'), (data ->> 'page'), seq_id)
            WHERE type = 'page_baseline_recorded';
        CREATE INDEX IF NOT EXISTS {NewestPageBaselineIndex} ON {Events} ((data ->> 'siteId'), seq_id) WHERE type = 'page_baseline_recorded';
        """;

    /// <summary>Analyses the event table: run after the schema is made or changed.</summary>
    public string AnalyzeSql() => $"ANALYZE {Events};";

    /// <summary>
    /// Drops the documents of earlier versions and Marten's functions for them: the counters (<c>mt_doc_period_counter</c>)
    /// and the visitor-days (<c>mt_doc_visitor_day</c>), which are now rows of <see cref="CountStore"/>'s and
    /// <see cref="VisitorDayStore"/>'s tables, rebuilt from the history.
    /// </summary>
    public string ObsoleteDocumentsSql()
    {
        var schema = store.Options.DatabaseSchemaName;
        return $"""
            DROP TABLE IF EXISTS {schema}.mt_doc_period_counter;
            DROP TABLE IF EXISTS {schema}.mt_doc_visitor_day;
            DO $$
            DECLARE f regprocedure;
            BEGIN
                FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                         WHERE n.nspname = '{schema}' AND p.proname LIKE 'mt\_%\_visitor\_day' LOOP
                    EXECUTE 'DROP FUNCTION ' || f;
                END LOOP;
            END $$;
            """;
    }

    private static string DayKey(DateOnly day) => new PeriodKeys(day).Key(PeriodKind.Day);

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }
}
