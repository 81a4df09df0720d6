using Marten;
using Npgsql;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The counts table, and the only code that knows its SQL: one row of integers per <see cref="CountKey"/>, written as
/// increments (<see cref="CounterBook.Changes"/>) with one statement per page of events, read by key. Replaces whole
/// JSON documents rewritten per page: the projection no longer loads counters before applying a page, and a new
/// dimension is more rows, not another document type.
/// </summary>
public sealed class CountStore(IDocumentStore store, NpgsqlDataSource database)
{
    public const string Table = "cchc_counts";

    /// <summary>The pages' titles: one row per page that was ever given one.</summary>
    public const string TitlesTable = "cchc_page_titles";

    private string Qualified => QualifiedIn(store.Options.DatabaseSchemaName);

    /// <summary>Every column of the counts, in the order <see cref="ReadAsync(NpgsqlDataReader, CancellationToken)"/> reads them.</summary>
    private string SelectCounts =>
        $"SELECT scope, dimension, key, period, period_key, page_views, visits, visitors, baseline_page_views, baseline_visits, first_visitors FROM {Qualified}";

    private static string QualifiedIn(string schema) => $"{schema}.{Table}";

    /// <summary>
    /// What the counts table's comment says of the rows it holds. A table with another comment, or none, was counted by an
    /// earlier version (before sites were counted by ten minutes too), and is rebuilt from the history once
    /// (<see cref="Hosting.DatabaseSetup"/>).
    /// </summary>
    public const string Layout = "CCHC.Stats counts: sites by hour and by ten minutes";

    /// <summary>Creates the table if it is missing, and marks it with <see cref="Layout"/> (<see cref="Hosting.DatabaseSetup"/>).</summary>
    public static string CreateSql(string schema) =>
        $"""
        CREATE TABLE IF NOT EXISTS {QualifiedIn(schema)} (
            scope varchar NOT NULL,
            dimension varchar NOT NULL,
            key varchar NOT NULL,
            period varchar NOT NULL,
            period_key varchar NOT NULL,
            page_views bigint NOT NULL,
            visits bigint NOT NULL,
            visitors bigint NOT NULL,
            baseline_page_views bigint NOT NULL,
            baseline_visits bigint NOT NULL,
            first_visitors bigint NOT NULL,
            PRIMARY KEY (scope, dimension, key, period, period_key));
        ALTER TABLE {QualifiedIn(schema)} SET (fillfactor = 80);
        COMMENT ON TABLE {QualifiedIn(schema)} IS '{Layout}';
        {PagesIndexSql(schema)}
        CREATE INDEX IF NOT EXISTS {SourcesIndex} ON {QualifiedIn(schema)} (scope, period, period_key) WHERE dimension = '{CountKey.SourceDimension}';
        CREATE TABLE IF NOT EXISTS {schema}.{TitlesTable} (
            scope varchar NOT NULL,
            page varchar NOT NULL,
            title varchar NOT NULL,
            title_at timestamptz NOT NULL,
            PRIMARY KEY (scope, page));
        """;

    /// <summary>
    /// The index on pages by period: a period's pages, read without the site's other rows (a most-read list ranks them,
    /// <see cref="PagesOfDayCommand"/>, <see cref="PagesBeforeDayCommand"/>). It keys no figure, so incrementing a page's row leaves it alone and PostgreSQL
    /// updates the row in place (fillfactor 80 leaves the room); the index before it keyed the views, which made every
    /// increment of a page's row write new entries in both indexes. A rebuild still drops it
    /// (<see cref="DropPagesIndexSql"/>) and makes it once the counts are written: its rows are new, and one sort beats an
    /// entry at a time.
    /// </summary>
    public static string PagesIndexSql(string schema) =>
        $"""
        DROP INDEX IF EXISTS {schema}.ix_cchc_counts_pages_by_period;
        DROP INDEX IF EXISTS {schema}.ix_cchc_counts_pages_by_period_v2;
        CREATE INDEX IF NOT EXISTS {PagesIndex} ON {QualifiedIn(schema)} (scope, period, period_key) WHERE dimension = '{CountKey.PageDimension}';
        """;

    public static string DropPagesIndexSql(string schema) => $"DROP INDEX IF EXISTS {schema}.{PagesIndex}";

    public const string PagesIndex = "ix_cchc_counts_pages_by_period_v3";

    /// <summary>
    /// The index on sources by period: a site's sources of a period are read without the other dimensions' rows. Its
    /// columns never change when a row is incremented, so it costs the writes nothing but new rows. Its absence marks a
    /// store from before sources were counted (<see cref="Hosting.DatabaseSetup"/> rebuilds it).
    /// </summary>
    public const string SourcesIndex = "ix_cchc_counts_sources_by_period";

    /// <summary>Empties the tables (a rebuild starts from nothing).</summary>
    public static string TruncateSql(string schema) => $"TRUNCATE {QualifiedIn(schema)}, {schema}.{TitlesTable}";

    /// <summary>
    /// Keeps the titles of a page of facts (<see cref="CounterBook.Titles"/>): a page's stored title is replaced only by a
    /// newer one. Parameters as for <see cref="IncrementSql"/>.
    /// </summary>
    public static string TitlesSql(string schema, Func<int, string> parameter) =>
        $"""
        INSERT INTO {schema}.{TitlesTable} AS t (scope, page, title, title_at)
        SELECT * FROM unnest({parameter(1)}::varchar[], {parameter(2)}::varchar[], {parameter(3)}::varchar[], {parameter(4)}::timestamptz[])
        ON CONFLICT (scope, page) DO UPDATE SET title = excluded.title, title_at = excluded.title_at WHERE t.title_at <= excluded.title_at
        """;

    /// <summary>The values for <see cref="TitlesSql"/>, the rows in key order.</summary>
    public static object[] TitlesValues(IReadOnlyDictionary<(string SiteId, string Page), PageTitle> titles)
    {
        var rows = titles.OrderBy(t => t.Key.SiteId, StringComparer.Ordinal).ThenBy(t => t.Key.Page, StringComparer.Ordinal).ToList();
        return
        [
            rows.Select(r => r.Key.SiteId).ToArray(), rows.Select(r => r.Key.Page).ToArray(), rows.Select(r => r.Value.Title).ToArray(),
            rows.Select(r => r.Value.At.ToUniversalTime()).ToArray(),
        ];
    }

    /// <summary>
    /// Adds a page's changes to the counts, creating the rows they lack. <paramref name="parameter"/> names the n-th
    /// parameter (from 1): Marten's <c>?</c> or Npgsql's <c>$n</c>. Only one writer at a time (the projection, or a
    /// rebuild with the projection paused); rows are in key order all the same.
    /// </summary>
    public static string IncrementSql(string schema, Func<int, string> parameter) =>
        $"""
        {InsertSql(schema, parameter)}
        ON CONFLICT (scope, dimension, key, period, period_key) DO UPDATE SET
            page_views = c.page_views + excluded.page_views, visits = c.visits + excluded.visits, visitors = c.visitors + excluded.visitors,
            baseline_page_views = c.baseline_page_views + excluded.baseline_page_views, baseline_visits = c.baseline_visits + excluded.baseline_visits,
            first_visitors = c.first_visitors + excluded.first_visitors
        """;

    /// <summary>
    /// Writes changes whose rows are known not to exist yet, as new rows: what a rebuild knows of the rows of the site-days it
    /// has held since their first view. A plain INSERT costs about a quarter less a row than <see cref="IncrementSql"/>'s
    /// upsert (on the 10 M store, 4,600 new rows: 44–50 ms against 60–72), and a row that did exist fails the statement
    /// rather than being added to. Parameters as <see cref="IncrementSql"/>'s.
    /// </summary>
    public static string InsertSql(string schema, Func<int, string> parameter) =>
        $"""
        INSERT INTO {QualifiedIn(schema)} AS c
            (scope, dimension, key, period, period_key, page_views, visits, visitors, baseline_page_views, baseline_visits, first_visitors)
        SELECT * FROM unnest({parameter(1)}::varchar[], {parameter(2)}::varchar[], {parameter(3)}::varchar[], {parameter(4)}::varchar[], {parameter(5)}::varchar[],
                             {parameter(6)}::bigint[], {parameter(7)}::bigint[], {parameter(8)}::bigint[], {parameter(9)}::bigint[], {parameter(10)}::bigint[],
                             {parameter(11)}::bigint[])
        """;

    /// <summary>
    /// Whether a key's counted figures may be left out of a rebuild's increments and summed from its days once the days are
    /// all written (<see cref="RollUpParts"/>): a page's or a source's month, year and all time. Each holds what its days
    /// hold — the engine counts a view in every period of its day, and a visit never crosses midnight — and they are most of
    /// a rebuild's row increments (a page's views are spread thin: nearly every view is another row of each). Their
    /// baselines are not sums of days (a page's is given to its all time alone): those stay increments.
    /// </summary>
    public static bool RolledUpFromDays(CountKey key) =>
        key.Dimension != CountKey.SiteDimension && key.Period is PeriodKind.Month or PeriodKind.Year or PeriodKind.Total;

    /// <summary>A page of changes without what <see cref="RollUpParts"/> will sum from the days (<see cref="RolledUpFromDays"/>).</summary>
    public static Dictionary<CountKey, Counts> WithoutRolledUp(IReadOnlyDictionary<CountKey, Counts> changes)
    {
        var kept = new Dictionary<CountKey, Counts>(changes.Count);
        foreach (var (key, change) in changes)
        {
            var counted = RolledUpFromDays(key) ? new Counts(BaselinePageViews: change.BaselinePageViews, BaselineVisits: change.BaselineVisits) : change;
            if (counted != default)
            {
                kept[key] = counted;
            }
        }

        return kept;
    }

    /// <summary>
    /// The parts of the sum of the rolled-up keys (<see cref="RolledUpFromDays"/>) from their days: their months, and their
    /// years and all time. The parts write disjoint rows and read only day rows, so a rebuild runs them at once, each in a
    /// transaction of its own on a connection of its own: PostgreSQL runs a statement on one core, and these are the
    /// rebuild's largest (docs/BENCHMARKS.md). Their work is about even: the months are most of the rows written, the years
    /// and all time twice the rows summed.
    /// </summary>
    public static readonly IReadOnlyList<IReadOnlyList<PeriodKind>> RollUpParts = [[PeriodKind.Month], [PeriodKind.Year, PeriodKind.Total]];

    /// <summary>
    /// Refreshes the planner's statistics of the counts table. A rebuild empties the table and refills it, so until
    /// autovacuum comes round its statistics describe an empty table, and the sum of the days (<see cref="RollUpCommands"/>)
    /// was planned as a sort spilling to disk instead of a hash: 12 s where it takes 7 on a 1 M store.
    /// </summary>
    public static string AnalyzeSql(string schema) => $"ANALYZE {QualifiedIn(schema)}";

    /// <summary>
    /// The statements, to run in one transaction, that add to each rolled-up key (<see cref="RolledUpFromDays"/>) of the
    /// given <paramref name="periods"/> (a part of <see cref="RollUpParts"/>) the counted figures of its days, for the given
    /// days. The month and year of each day are worked out here (<see cref="PeriodKeys"/>): SQL only sums. Run once by a
    /// rebuild whose increments left them out, after its last day row is written. The sum is one pass over the day rows,
    /// given the memory to hash its groups (a page's months: more than a million at 100,000 pages over a year) rather than
    /// spill them to disk.
    /// </summary>
    public static IEnumerable<NpgsqlBatchCommand> RollUpCommands(string schema, IEnumerable<DateOnly> days, IReadOnlyList<PeriodKind> periods)
    {
        yield return new NpgsqlBatchCommand("SET LOCAL work_mem = '256MB'");
        var periodKeys = string.Join(", ", periods.Select(period => $"('{PeriodName(period)}', {period switch
        {
            PeriodKind.Month => "m.month",
            PeriodKind.Year => "m.year",
            PeriodKind.Total => "$4::varchar",
            _ => throw new ArgumentOutOfRangeException(nameof(periods), period, "Only months, years and all time are summed from days."),
        }})"));
        var command = new NpgsqlBatchCommand(
            $"""
            INSERT INTO {QualifiedIn(schema)} AS c
                (scope, dimension, key, period, period_key, page_views, visits, visitors, baseline_page_views, baseline_visits, first_visitors)
            SELECT d.scope, d.dimension, d.key, p.period, p.period_key, sum(d.page_views), sum(d.visits), 0, 0, 0, 0
            FROM {QualifiedIn(schema)} AS d
            JOIN unnest($1::varchar[], $2::varchar[], $3::varchar[]) AS m(day, month, year) ON d.period_key = m.day
            CROSS JOIN LATERAL (VALUES {periodKeys}) AS p(period, period_key)
            WHERE d.dimension IN ('{CountKey.PageDimension}', '{CountKey.SourceDimension}') AND d.period = '{PeriodName(PeriodKind.Day)}'
            GROUP BY d.scope, d.dimension, d.key, p.period, p.period_key
            ON CONFLICT (scope, dimension, key, period, period_key) DO UPDATE SET
                page_views = c.page_views + excluded.page_views, visits = c.visits + excluded.visits
            """);
        var keys = days.Distinct().Select(d => new PeriodKeys(d)).ToList();
        foreach (var value in new object[]
                 {
                     keys.Select(k => k.Key(PeriodKind.Day)).ToArray(), keys.Select(k => k.Key(PeriodKind.Month)).ToArray(),
                     keys.Select(k => k.Key(PeriodKind.Year)).ToArray(), PeriodKeys.TotalKey,
                 })
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        yield return command;
    }

    /// <summary>
    /// The values for <see cref="IncrementSql"/>, in its parameters' order, the rows in key order (so two writers take
    /// their rows' locks in one order). Built in one pass over one sorted array: a page of a site with thousands of
    /// articles changes tens of thousands of counts.
    /// </summary>
    public static object[] IncrementValues(IReadOnlyDictionary<CountKey, Counts> changes)
    {
        var rows = new KeyValuePair<CountKey, Counts>[changes.Count];
        var n = 0;
        foreach (var change in changes)
        {
            if (change.Value != default)
            {
                rows[n++] = change;
            }
        }

        Array.Sort(rows, 0, n, KeyOrder.Instance);
        var (scopes, dimensions, keys, periods, periodKeys) = (new string[n], new string[n], new string[n], new string[n], new string[n]);
        var (pageViews, visits, visitors, baselinePageViews, baselineVisits, firstVisitors) = (new long[n], new long[n], new long[n], new long[n], new long[n], new long[n]);
        for (var i = 0; i < n; i++)
        {
            var (key, counts) = (rows[i].Key, rows[i].Value);
            (scopes[i], dimensions[i], keys[i], periods[i], periodKeys[i]) = (key.Scope, key.Dimension, key.Key, PeriodName(key.Period), key.PeriodKey);
            (pageViews[i], visits[i], visitors[i]) = (counts.PageViews, counts.Visits, counts.Visitors);
            (baselinePageViews[i], baselineVisits[i], firstVisitors[i]) = (counts.BaselinePageViews, counts.BaselineVisits, counts.FirstVisitors);
        }

        return [scopes, dimensions, keys, periods, periodKeys, pageViews, visits, visitors, baselinePageViews, baselineVisits, firstVisitors];
    }

    /// <summary>The stored rows' key order: scope, dimension, key, period, period key (strings by ordinal).</summary>
    private sealed class KeyOrder : IComparer<KeyValuePair<CountKey, Counts>>
    {
        public static readonly KeyOrder Instance = new();

        public int Compare(KeyValuePair<CountKey, Counts> a, KeyValuePair<CountKey, Counts> b)
        {
            var (x, y) = (a.Key, b.Key);
            var order = string.CompareOrdinal(x.Scope, y.Scope);
            order = order != 0 ? order : string.CompareOrdinal(x.Dimension, y.Dimension);
            order = order != 0 ? order : string.CompareOrdinal(x.Key, y.Key);
            order = order != 0 ? order : ((int)x.Period).CompareTo((int)y.Period); // as ints: Enum.CompareTo boxes
            return order != 0 ? order : string.CompareOrdinal(x.PeriodKey, y.PeriodKey);
        }
    }

    /// <summary>The statement that reads the counts of the given keys (absent keys have no row: zero); read it with <see cref="ReadAsync(NpgsqlDataReader, CancellationToken)"/>.</summary>
    public NpgsqlBatchCommand ReadCommand(IReadOnlyCollection<CountKey> keys)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            {SelectCounts}
            WHERE (scope, dimension, key, period, period_key) IN (SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[]))
            """);
        foreach (var values in new[]
                 {
                     keys.Select(k => k.Scope), keys.Select(k => k.Dimension), keys.Select(k => k.Key), keys.Select(k => PeriodName(k.Period)),
                     keys.Select(k => k.PeriodKey),
                 })
        {
            command.Parameters.Add(new NpgsqlParameter { Value = values.ToArray() });
        }

        return command;
    }

    /// <summary>
    /// The statement that reads every count of a site's own periods, day to all time: not its hours and ten minutes
    /// (<see cref="SiteRangeAsync"/>), which are most of its rows.
    /// </summary>
    public NpgsqlBatchCommand SiteCommand(string siteId)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            {SelectCounts}
            WHERE scope = $1 AND dimension = $2 AND key = '' AND period NOT IN ('{PeriodName(PeriodKind.Hour)}', '{PeriodName(PeriodKind.TenMinutes)}')
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = siteId });
        command.Parameters.Add(new NpgsqlParameter { Value = CountKey.SiteDimension });
        return command;
    }

    /// <summary>
    /// The statement that reads every count of a site's keys of one dimension (<see cref="CountKey.PageDimension"/>,
    /// <see cref="CountKey.SourceDimension"/>) by day, month, year and all time (not by hour).
    /// </summary>
    public NpgsqlBatchCommand DimensionOfSiteCommand(string siteId, string dimension)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            {SelectCounts}
            WHERE scope = $1 AND dimension = $2 AND period <> 'hour'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = siteId });
        command.Parameters.Add(new NpgsqlParameter { Value = dimension });
        return command;
    }

    public Task<Dictionary<CountKey, Counts>> PagesOfSiteAsync(string siteId, CancellationToken ct) =>
        RunAsync(DimensionOfSiteCommand(siteId, CountKey.PageDimension), ct);

    public Task<Dictionary<CountKey, Counts>> SourcesOfSiteAsync(string siteId, CancellationToken ct) =>
        RunAsync(DimensionOfSiteCommand(siteId, CountKey.SourceDimension), ct);

    /// <summary>
    /// A site's own counts of one period kind whose keys lie in [<paramref name="firstKey"/>, <paramref name="lastKey"/>]
    /// (keys begin with their date, so they sort by time): one range of the primary key, where naming hundreds of keys
    /// one by one made PostgreSQL match each (a month of hours read 7× slower).
    /// </summary>
    public Task<Dictionary<CountKey, Counts>> SiteRangeAsync(string siteId, PeriodKind period, string firstKey, string lastKey, CancellationToken ct)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            {SelectCounts}
            WHERE scope = $1 AND dimension = '{CountKey.SiteDimension}' AND key = '' AND period = '{PeriodName(period)}' AND period_key >= $2 AND period_key <= $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = siteId });
        command.Parameters.Add(new NpgsqlParameter { Value = firstKey });
        command.Parameters.Add(new NpgsqlParameter { Value = lastKey });
        return RunAsync(command, ct);
    }

    public static async Task<Dictionary<CountKey, Counts>> ReadAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var counts = new Dictionary<CountKey, Counts>();
        while (await reader.ReadAsync(ct))
        {
            var key = new CountKey(reader.GetString(0), reader.GetString(1), reader.GetString(2), Enum.Parse<PeriodKind>(reader.GetString(3), ignoreCase: true),
                reader.GetString(4));
            counts[key] = new Counts(reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10));
        }

        return counts;
    }

    public Task<Dictionary<CountKey, Counts>> ReadAsync(IReadOnlyCollection<CountKey> keys, CancellationToken ct) => RunAsync(ReadCommand(keys), ct);

    public Task<Dictionary<CountKey, Counts>> OfSiteAsync(string siteId, CancellationToken ct) => RunAsync(SiteCommand(siteId), ct);

    /// <summary>
    /// The statement that sums, for each key of a dimension (or one: <paramref name="key"/>), what it counted before
    /// <paramref name="day"/> in the week, month, year and all time that contain it, or <paramref name="only"/> in one of
    /// them: per key, a row of the key and eight figures (the week's page views and visits, then the month's, the year's,
    /// all time's; 0 for a period not asked for); a key with nothing counted before the day has no row. Each sum comes
    /// from the fewest stored rows: the week's and the month's days before the day, the year's months before its month,
    /// the years before its year. So it reads at most about fifty rows a key however long the history (a longer period's
    /// row holds what its days hold: the engine counts every view in each). Keys are ISO dates and their prefixes, so they
    /// compare as text. The dimension, one of <see cref="CountKey"/>'s, is written into the statement, not passed:
    /// PostgreSQL then uses the pages' partial index in the plan it keeps.
    /// </summary>
    public NpgsqlBatchCommand PeriodsBeforeDayCommand(string siteId, string dimension, string? key, DateOnly day, PeriodKind? only)
    {
        if (dimension is not (CountKey.SiteDimension or CountKey.PageDimension or CountKey.SourceDimension))
        {
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "Not a dimension the engine counts."); // it is written into the statement
        }

        // The sums, each read and computed only when a period asked for needs it: the week's days; the month's days (the
        // year and all time start with them); the year's months; the years. A list of 3,000 pages spent more on summing
        // figures it did not use than on reading its rows, and a month's list has no use for the week's days before the 1st.
        var weekDays = only is null or PeriodKind.Week;
        var monthDays = only is null or PeriodKind.Month or PeriodKind.Year or PeriodKind.Total;
        var yearMonths = only is null or PeriodKind.Year or PeriodKind.Total;
        var years = only is null or PeriodKind.Total;
        var keys = new PeriodKeys(day);
        var (week, month) = (keys.FirstDay(PeriodKind.Week), keys.FirstDay(PeriodKind.Month));
        var daysFrom = (weekDays, monthDays) switch
        {
            (true, true) => week < month ? week : month,
            (true, false) => week,
            (false, true) => month,
            _ => day, // the day alone: nothing before it
        };
        var ranges = new List<string> { "period = 'day' AND period_key >= $2 AND period_key < $3" };
        if (yearMonths)
        {
            ranges.Add("period = 'month' AND period_key >= $7 AND period_key < $6");
        }

        if (years)
        {
            ranges.Add("period = 'year' AND period_key < $8");
        }

        // Every key's rows: one condition with ORs, which PostgreSQL reads as a bitmap of the index's ranges (as a union of
        // the ranges, a list of 3,000 pages' all time took 2.5 times as long). One key's rows: a range of the primary key
        // for each period; with ORs, the plan PostgreSQL keeps for one key read every row of the key, a site's hours too
        // (5.6 ms where this takes 0.1).
        var rows = $"SELECT key, period, period_key, page_views, visits FROM {Qualified} WHERE scope = $1 AND dimension = '{dimension}'";
        var stored = key is null
            ? $"{rows} AND (({string.Join(") OR (", ranges)}))"
            : string.Join(" UNION ALL ", ranges.Select(range => $"{rows} AND key = $9 AND {range}"));
        var visits = dimension != CountKey.PageDimension; // a page's visits are not counted
        string Sum(string column, string of, bool wanted) => wanted ? $"coalesce(sum({column}) FILTER (WHERE {of}), 0)" : "0::bigint";
        var (ofWeekDays, ofMonthDays) = ("period = 'day' AND period_key >= $4", "period = 'day' AND period_key >= $5");
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT key, w_views, w_visits, m_views, m_visits, m_views + y_views, m_visits + y_visits,
                   m_views + y_views + t_views, m_visits + y_visits + t_visits
            FROM (SELECT key,
                         {Sum("page_views", ofWeekDays, weekDays)} AS w_views, {Sum("visits", ofWeekDays, weekDays && visits)} AS w_visits,
                         {Sum("page_views", ofMonthDays, monthDays)} AS m_views, {Sum("visits", ofMonthDays, monthDays && visits)} AS m_visits,
                         {Sum("page_views", "period = 'month'", yearMonths)} AS y_views, {Sum("visits", "period = 'month'", yearMonths && visits)} AS y_visits,
                         {Sum("page_views", "period = 'year'", years)} AS t_views, {Sum("visits", "period = 'year'", years && visits)} AS t_visits
                  FROM ({stored}) AS stored
                  GROUP BY key) AS before
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = siteId });
        foreach (var value in new[]
                 {
                     new PeriodKeys(daysFrom).Key(PeriodKind.Day), keys.Key(PeriodKind.Day), new PeriodKeys(week).Key(PeriodKind.Day),
                     new PeriodKeys(month).Key(PeriodKind.Day), keys.Key(PeriodKind.Month), new PeriodKeys(keys.FirstDay(PeriodKind.Year)).Key(PeriodKind.Month),
                     keys.Key(PeriodKind.Year),
                 })
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        if (key is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = key });
        }

        return command;
    }

    /// <summary>
    /// What a row of <see cref="PeriodsBeforeDayCommand"/> holds for <paramref name="period"/>: the page views and visits its
    /// key counted in it before the day (none for the day itself).
    /// </summary>
    public static (long PageViews, long Visits) BeforeDay(NpgsqlDataReader row, PeriodKind period) => period switch
    {
        // The row: the key, then the week's page views and visits, the month's, the year's, all time's.
        PeriodKind.Day => (0, 0),
        PeriodKind.Week => (row.GetInt64(1), row.GetInt64(2)),
        PeriodKind.Month => (row.GetInt64(3), row.GetInt64(4)),
        PeriodKind.Year => (row.GetInt64(5), row.GetInt64(6)),
        PeriodKind.Total => (row.GetInt64(7), row.GetInt64(8)),
        _ => throw new ArgumentOutOfRangeException(nameof(period), period, "Hours and ten minutes are not summed before a day."),
    };

    /// <summary>
    /// The statement that sums a site's counted page views, visits and first visitors over the given hours and ten minutes
    /// (their <see cref="PeriodKeys.HourKey"/>s and <see cref="PeriodKeys.TenMinutesKey"/>s): three figures, in that order.
    /// Each kind's keys, first and last, bound the index's range (PostgreSQL's plan filtered a list of keys over every hour
    /// row of the site: 3–12 ms, growing with the history, where the range reads the day's few).
    /// </summary>
    public NpgsqlBatchCommand PartsOfDayCommand(string siteId, IReadOnlyCollection<string> hourKeys, IReadOnlyCollection<string> tenMinutesKeys)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT coalesce(sum(page_views), 0), coalesce(sum(visits), 0), coalesce(sum(first_visitors), 0) FROM (
                SELECT page_views, visits, first_visitors FROM {Qualified}
                WHERE scope = $1 AND dimension = '{CountKey.SiteDimension}' AND key = '' AND period = '{PeriodName(PeriodKind.Hour)}'
                  AND period_key >= $3 AND period_key <= $4 AND period_key = ANY($2)
                UNION ALL
                SELECT page_views, visits, first_visitors FROM {Qualified}
                WHERE scope = $1 AND dimension = '{CountKey.SiteDimension}' AND key = '' AND period = '{PeriodName(PeriodKind.TenMinutes)}'
                  AND period_key >= $6 AND period_key <= $7 AND period_key = ANY($5)) AS parts
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = siteId });
        foreach (var keys in new[] { hourKeys, tenMinutesKeys })
        {
            command.Parameters.Add(new NpgsqlParameter { Value = keys.ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = keys.DefaultIfEmpty("").Min(StringComparer.Ordinal)! });
            command.Parameters.Add(new NpgsqlParameter { Value = keys.DefaultIfEmpty("").Max(StringComparer.Ordinal)! });
        }

        return command;
    }

    /// <summary>
    /// The statement for each of a site's pages' page views on one day, in no order (the service ranks them, with the
    /// days before for a longer period: <see cref="Pages.ClosedPart"/>). Two columns: the page and its views. A page's
    /// baseline is given to its all time alone, so a day's views are its counted views.
    /// </summary>
    public NpgsqlBatchCommand PagesOfDayCommand(string siteId, DateOnly day)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT key, page_views FROM {Qualified}
            WHERE scope = $1 AND dimension = '{CountKey.PageDimension}' AND period = 'day' AND period_key = $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = siteId });
        command.Parameters.Add(new NpgsqlParameter { Value = new PeriodKeys(day).Key(PeriodKind.Day) });
        return command;
    }

    /// <summary>
    /// The statement for each of a site's pages' counts in one stored period and on the day <paramref name="day"/>, both
    /// read in one snapshot (zero for a day it was not viewed); read it with <see cref="ReadPagesBeforeDayAsync"/>.
    /// </summary>
    public NpgsqlBatchCommand PagesBeforeDayCommand(string siteId, PeriodKind period, string periodKey, DateOnly day)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT p.key, p.page_views, p.baseline_page_views, coalesce(d.page_views, 0), coalesce(d.baseline_page_views, 0) FROM {Qualified} p
            LEFT JOIN {Qualified} d ON d.scope = p.scope AND d.dimension = p.dimension AND d.key = p.key AND d.period = 'day' AND d.period_key = $3
            WHERE p.scope = $1 AND p.dimension = '{CountKey.PageDimension}' AND p.period = '{PeriodName(period)}' AND p.period_key = $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = siteId });
        command.Parameters.Add(new NpgsqlParameter { Value = periodKey });
        command.Parameters.Add(new NpgsqlParameter { Value = new PeriodKeys(day).Key(PeriodKind.Day) });
        return command;
    }

    /// <summary>Each page of <see cref="PagesBeforeDayCommand"/> and its shown page views in the period before that day.</summary>
    public static async Task<List<(string Page, long Views)>> ReadPagesBeforeDayAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var pages = new List<(string Page, long Views)>();
        while (await reader.ReadAsync(ct))
        {
            var period = new Counts(PageViews: reader.GetInt64(1), BaselinePageViews: reader.GetInt64(2));
            var day = new Counts(PageViews: reader.GetInt64(3), BaselinePageViews: reader.GetInt64(4));
            pages.Add((reader.GetString(0), checked(period.ShownPageViews - day.ShownPageViews)));
        }

        return pages;
    }

    /// <summary>
    /// The statement for a site's most-read pages over the days [<paramref name="first"/>, <paramref name="last"/>] (a
    /// week: pages have no week rows), summed from their day rows: the page and its views. The days are named one by
    /// one, so the index on pages by period is read for each (a range of keys made PostgreSQL's generic plan read far
    /// more: 150 ms for a week of 20,000 pages, where this takes a few).
    /// </summary>
    public NpgsqlBatchCommand TopPagesOverDaysCommand(string siteId, DateOnly first, DateOnly last, int limit)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT key, sum(page_views)::bigint FROM {Qualified}
            WHERE scope = $1 AND dimension = '{CountKey.PageDimension}' AND period = 'day' AND period_key = ANY($2)
            GROUP BY key ORDER BY 2 DESC, key COLLATE "C" LIMIT $3
            """);
        var days = new List<string>();
        for (var day = first; day <= last; day = day.AddDays(1))
        {
            days.Add(new PeriodKeys(day).Key(PeriodKind.Day));
        }

        command.Parameters.Add(new NpgsqlParameter { Value = siteId });
        command.Parameters.Add(new NpgsqlParameter { Value = days.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        return command;
    }

    /// <summary>
    /// The statement for a site's visits by source over the periods of one kind whose keys lie in [<paramref name="firstKey"/>,
    /// <paramref name="lastKey"/>] (one period: both its key; a week: its days), summed: the source and its visits.
    /// </summary>
    public NpgsqlBatchCommand SourcesCommand(string siteId, PeriodKind period, string firstKey, string lastKey)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT key, sum(visits)::bigint FROM {Qualified}
            WHERE scope = $1 AND dimension = '{CountKey.SourceDimension}' AND period = '{PeriodName(period)}' AND period_key >= $2 AND period_key <= $3
            GROUP BY key
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = siteId });
        command.Parameters.Add(new NpgsqlParameter { Value = firstKey });
        command.Parameters.Add(new NpgsqlParameter { Value = lastKey });
        return command;
    }

    /// <summary>The statement for the titles of some of a site's pages: the page and its title.</summary>
    public NpgsqlBatchCommand TitlesCommand(string siteId, IReadOnlyCollection<string> pages)
    {
        var command = new NpgsqlBatchCommand($"SELECT page, title FROM {store.Options.DatabaseSchemaName}.{TitlesTable} WHERE scope = $1 AND page = ANY($2)");
        command.Parameters.Add(new NpgsqlParameter { Value = siteId });
        command.Parameters.Add(new NpgsqlParameter { Value = pages.ToArray() });
        return command;
    }

    /// <summary>The site-days among <paramref name="siteDays"/> that have counts stored (their visitor-days may be stored too).</summary>
    public static async Task<HashSet<(string SiteId, DateOnly Day)>> CountedDaysAsync(IDocumentOperations operations,
        IReadOnlyCollection<(string SiteId, DateOnly Day)> siteDays, CancellationToken ct)
    {
        var rows = await operations.QueryAsync<string>(
            $"SELECT scope || '/' || period_key FROM {QualifiedIn(operations.DocumentStore.Options.DatabaseSchemaName)} " +
            "WHERE dimension = ? AND key = '' AND period = 'day' AND (scope, period_key) IN (SELECT * FROM unnest(?::varchar[], ?::varchar[]))",
            ct, CountKey.SiteDimension, siteDays.Select(d => d.SiteId).ToArray(), siteDays.Select(d => new PeriodKeys(d.Day).Key(PeriodKind.Day)).ToArray());
        return rows.Select(r => (r[..r.LastIndexOf('/')], DateOnly.Parse(r[(r.LastIndexOf('/') + 1)..]))).ToHashSet();
    }

    /// <summary>The period as the table writes it.</summary>
    public static string PeriodName(PeriodKind period) => PeriodNames[(int)period];

    /// <summary>Each <see cref="PeriodKind"/>'s name as stored, by its value: worked out once, not at every row.</summary>
    private static readonly string[] PeriodNames = Enum.GetValues<PeriodKind>().Select(kind => kind.ToString().ToLowerInvariant()).ToArray();

    private async Task<Dictionary<CountKey, Counts>> RunAsync(NpgsqlBatchCommand command, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(command);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        return await ReadAsync(reader, ct);
    }
}
