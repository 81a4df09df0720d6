using System.Buffers.Binary;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The visitor-days table, and the only code that knows its SQL: one row per visitor and site-local day, with the
/// moments the queries select by in columns of their own (first view, last view, last view's minute) and the visits
/// packed in a few bytes (<see cref="PackRuns"/>). The engine (<see cref="CounterBook"/>) is what reads the visits; SQL
/// only selects rows and counts them.
/// </summary>
/// <remarks>
/// <para>
/// A view rewrites its visitor's row. On the bench's store of ten million views the rows take 128 B a view and, with
/// their two indexes, 248 B, where Marten's JSON documents took 425 and 566 B (docs/BENCHMARKS.md): the projection, the
/// rebuild and <c>asOf</c>'s lookups read and write less than half of what they did, and more of it stays in memory.
/// </para>
/// <para>
/// Who is online is found by the index on site and <c>last_seen_minute</c> (the last view cut to the UTC minute), then
/// checked by the exact <c>last_seen</c> on the row. A visitor's views within a minute leave every indexed column as it
/// was, so PostgreSQL rewrites the row in place without touching an index (a HOT update; pages are filled to 80 % to
/// leave the room): an index on the exact time would be touched by every view.
/// </para>
/// </remarks>
public sealed class VisitorDayStore(NpgsqlDataSource database, string schema)
{
    public const string Table = "cchc_visitor_days";

    private string Qualified => QualifiedIn(schema);

    public static string QualifiedIn(string schema) => $"{schema}.{Table}";

    /// <summary>Creates the table if it is missing (<see cref="Hosting.DatabaseSetup"/>). Fixed-width columns first: no padding.</summary>
    public static string CreateSql(string schema) =>
        $"""
        CREATE TABLE IF NOT EXISTS {QualifiedIn(schema)} (
            first_seen timestamptz NOT NULL,
            last_seen timestamptz NOT NULL,
            last_seen_minute timestamptz NOT NULL,
            day date NOT NULL,
            site_id varchar NOT NULL,
            visitor varchar NOT NULL,
            runs bytea NOT NULL,
            PRIMARY KEY (site_id, day, visitor)) WITH (fillfactor = 80);
        {OnlineIndexSql(schema)};
        """;

    /// <summary>
    /// The index by which <see cref="OnlineCommand"/> finds who is online, made if it is missing. A rebuild drops it
    /// (<see cref="DropOnlineIndexSql"/>) and makes it once its visitor-days are written: an entry a row took a third of
    /// the inserts' time (82–98 s of a 10 M rebuild's, 58–60 s without it), where one sort at the end takes 20 s beside
    /// the final sum. Nothing reads who is online while a rebuild runs (the figures from before it are served).
    /// </summary>
    public static string OnlineIndexSql(string schema) => $"CREATE INDEX IF NOT EXISTS {OnlineIndex} ON {QualifiedIn(schema)} (site_id, last_seen_minute)";

    /// <summary>Drops the index <see cref="OnlineIndexSql"/> makes (a rebuild, at its start).</summary>
    public static string DropOnlineIndexSql(string schema) => $"DROP INDEX IF EXISTS {schema}.{OnlineIndex}";

    public const string OnlineIndex = "ix_cchc_visitor_days_online";

    /// <summary>Empties the table (a rebuild starts from nothing).</summary>
    public static string TruncateSql(string schema) => $"TRUNCATE {QualifiedIn(schema)}";

    /// <summary>
    /// Inserts rows known to be new: only the projection and the replay write visitor-days, one page at a time, having
    /// just looked each one up (a plain INSERT is a third cheaper than INSERT … ON CONFLICT). <paramref name="parameter"/>
    /// names the n-th parameter (from 1): Marten's <c>?</c> or Npgsql's <c>$n</c>. Values: <see cref="Rows.Values"/>.
    /// </summary>
    public static string InsertSql(string schema, Func<int, string> parameter) =>
        $"INSERT INTO {QualifiedIn(schema)} (site_id, day, visitor, first_seen, last_seen, last_seen_minute, runs) " +
        $"SELECT * FROM unnest({Parameters(parameter)})";

    /// <summary>
    /// Rewrites stored rows, as <see cref="InsertSql"/> inserts new ones: an upsert on the primary key, so each row is
    /// found by its key in the index whatever the table's size. An <c>UPDATE … FROM unnest(…)</c> left the join to the
    /// planner, which for a projection page's ~2,500 rows over a table of a few hundred thousand judged a hash join over a
    /// scan of the whole table cheaper than the index: 300–480 ms a page at 230,000 rows (auto_explain, one bench run),
    /// where the index takes a few.
    /// </summary>
    public static string UpdateSql(string schema, Func<int, string> parameter) =>
        $"{InsertSql(schema, parameter)} ON CONFLICT (site_id, day, visitor) DO UPDATE SET first_seen = excluded.first_seen, " +
        "last_seen = excluded.last_seen, last_seen_minute = excluded.last_seen_minute, runs = excluded.runs";

    private static string Parameters(Func<int, string> parameter) =>
        $"{parameter(1)}::varchar[], {parameter(2)}::date[], {parameter(3)}::varchar[], {parameter(4)}::timestamptz[], {parameter(5)}::timestamptz[], " +
        $"{parameter(6)}::timestamptz[], {parameter(7)}::bytea[]";

    /// <summary>Visitor-days as the column arrays of one <see cref="InsertSql"/> or <see cref="UpdateSql"/>.</summary>
    public sealed record Rows(object[] Values, int Count)
    {
        public static readonly Rows None = new([], 0);

        public static Rows Of(IReadOnlyCollection<VisitorDay> days) => new(
        [
            days.Select(d => d.SiteId).ToArray(), days.Select(d => d.Day).ToArray(), days.Select(d => d.Visitor).ToArray(),
            days.Select(d => d.FirstSeen.ToUniversalTime()).ToArray(), days.Select(d => d.LastSeen.ToUniversalTime()).ToArray(),
            days.Select(d => VisitorDay.MinuteOf(d.LastSeen)).ToArray(), days.Select(d => PackRuns(d.Runs)).ToArray(),
        ], days.Count);
    }

    /// <summary>
    /// The stored visitor-days among <paramref name="ids"/> (<see cref="VisitorDay.Id"/>s; absent ones are new). Each key is
    /// looked up in the primary key by a lateral subquery, which the planner cannot turn into a hash join over the whole
    /// table (what it chose for the update by a join to thousands of keys: <see cref="UpdateSql"/>): its LIMIT 1 (the key
    /// is unique) keeps it from being flattened into a join.
    /// </summary>
    public async Task<List<VisitorDay>> LoadAsync(IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        var keys = ids.Select(KeyOf).ToList();
        await using var command = database.CreateCommand(
            $"""
            SELECT d.site_id, d.day, d.visitor, d.runs
            FROM unnest($1::varchar[], $2::date[], $3::varchar[]) AS k(site_id, day, visitor)
            CROSS JOIN LATERAL (SELECT * FROM {Qualified} AS v WHERE v.site_id = k.site_id AND v.day = k.day AND v.visitor = k.visitor LIMIT 1) AS d
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.SiteId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.Day).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.Visitor).ToArray() });
        var days = new List<VisitorDay>(ids.Count);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            days.Add(VisitorDay.Of(reader.GetString(0), reader.GetFieldValue<DateOnly>(1), reader.GetString(2), UnpackRuns(reader.GetFieldValue<byte[]>(3))));
        }

        return days;
    }

    /// <summary>
    /// The statement for a range's views (a statement made by <see cref="ViewHistory.Command"/>), followed by the stored
    /// visitor-days of the site-day <paramref name="day"/> whose visitors have a view among them at or after
    /// <paramref name="from"/>: what <c>asOf</c> reads for the open ten minutes, their views read once. The views come first, in
    /// their statement's order, their fifth column NULL; then the visitor-days, with only the visitor (third column) and
    /// the packed visits (fifth), their sequence NULL. Read it with
    /// <see cref="ViewHistory.ReadViewsAsync(NpgsqlDataReader, Action{DateOnly, DayView}, Action{NpgsqlDataReader}, CancellationToken)"/>,
    /// handing the rows after the views to <see cref="OfViewsRow"/>.
    /// </summary>
    public NpgsqlBatchCommand WithVisitorDaysCommand(NpgsqlBatchCommand views, string siteId, DateOnly day, DateTimeOffset from)
    {
        var site = views.Parameters.Count + 1;
        var command = new NpgsqlBatchCommand(
            $"""
            WITH v (day, seq_id, visitor, at) AS MATERIALIZED ({views.CommandText})
            SELECT * FROM (
                SELECT day, seq_id, visitor, at, NULL::bytea AS runs FROM v
                UNION ALL
                SELECT NULL, NULL, d.visitor, NULL, d.runs FROM {Qualified} AS d
                WHERE d.site_id = ${site} AND d.day = ${site + 1}
                  AND d.visitor = ANY(ARRAY(SELECT v.visitor FROM v WHERE v.day::date = ${site + 1} AND v.at >= ${site + 2}))) AS r
            ORDER BY seq_id IS NULL, day, seq_id
            """);
        foreach (NpgsqlParameter parameter in views.Parameters)
        {
            command.Parameters.Add(parameter.Clone());
        }

        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Varchar, Value = siteId });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Date, Value = day });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = from.ToUniversalTime() });
        return command;
    }

    /// <summary>The visitor-day of a row after the views of a statement made by <see cref="WithVisitorDaysCommand"/>.</summary>
    public static VisitorDay OfViewsRow(NpgsqlDataReader reader, string siteId, DateOnly day) =>
        VisitorDay.Of(siteId, day, reader.GetString(2), UnpackRuns(reader.GetFieldValue<byte[]>(4)));

    /// <summary>
    /// The statement that counts the distinct people among the sites' visitors of the local <paramref name="day"/> (the day
    /// the engine keyed their visitor-days by), those whose first view that day is at or before <paramref name="upTo"/> when
    /// it is given (the day as it stood then). A public view's pseudonym is the same on every site of the deployment that
    /// day, so a person is one distinct pseudonym. One column, one row.
    /// </summary>
    public NpgsqlBatchCommand PeopleOfDayCommand(IReadOnlyList<string> sites, DateOnly day, DateTimeOffset? upTo)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT count(DISTINCT visitor) FROM {Qualified}
            WHERE site_id = ANY($1) AND day = $2 AND ($3::timestamptz IS NULL OR first_seen <= $3)
            """);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Varchar, Value = sites.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Date, Value = day });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)upTo?.ToUniversalTime() ?? DBNull.Value });
        return command;
    }

    /// <summary>
    /// The statement that counts the people online over the sites: visitor-days whose last view is in the window
    /// (<see cref="OnlineWindow.ContainsSql"/>; the minute's bound before it is the online index's way in, never narrower),
    /// one person per day and pseudonym (the pseudonym changes at local midnight; one site's rows are that already, by
    /// their key). A visitor-day's last view lies within its day, so the window alone picks today's and yesterday's. One
    /// column, one row.
    /// </summary>
    public NpgsqlBatchCommand OnlineCommand(IReadOnlyList<string> sites, OnlineWindow window)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            SELECT {(sites.Count == 1 ? "count(*)" : "count(DISTINCT (day, visitor))")} FROM {Qualified}
            WHERE site_id = ANY($1) AND last_seen_minute >= $2 AND {OnlineWindow.ContainsSql("last_seen", "$3", "$4")}
            """);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Varchar, Value = sites.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = VisitorDay.MinuteOf(window.Since) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = window.Since.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = window.Until.ToUniversalTime() });
        return command;
    }

    /// <summary>
    /// The visits as stored: for each, its first and last view, each as UTC ticks (8 bytes, little-endian) and its offset in
    /// minutes (2 bytes): the engine keys a visit's hour by its first view's local time, so a moment keeps the site's offset
    /// it was seen with. Then its source: the length of its UTF-8 bytes plus one (2 bytes; 0: direct) and the bytes (a
    /// source is a host name, at most 253 characters: <see cref="Traffic.VisitSource"/>). 22 bytes for a direct visit,
    /// where the JSON spelled it in about seventy.
    /// </summary>
    public static byte[] PackRuns(IReadOnlyList<VisitRun> runs)
    {
        var size = 0;
        foreach (var run in runs)
        {
            size += RunSize + (run.Source is null ? 0 : Encoding.UTF8.GetByteCount(run.Source));
        }

        var packed = new byte[size];
        var at = packed.AsSpan();
        foreach (var run in runs)
        {
            WriteMoment(at, run.First);
            WriteMoment(at[MomentSize..], run.Last);
            var sourceBytes = run.Source is null ? 0 : Encoding.UTF8.GetBytes(run.Source, at[RunSize..]);
            BinaryPrimitives.WriteUInt16LittleEndian(at[(2 * MomentSize)..], checked((ushort)(run.Source is null ? 0 : sourceBytes + 1)));
            at = at[(RunSize + sourceBytes)..];
        }

        return packed;
    }

    /// <summary>The visits <see cref="PackRuns"/> packed, each moment with its offset.</summary>
    public static List<VisitRun> UnpackRuns(ReadOnlySpan<byte> packed)
    {
        var runs = new List<VisitRun>(1);
        while (packed.Length > 0)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(packed[(2 * MomentSize)..]);
            var source = length == 0 ? null : Encoding.UTF8.GetString(packed.Slice(RunSize, length - 1));
            runs.Add(new VisitRun(ReadMoment(packed), ReadMoment(packed[MomentSize..]), source));
            packed = packed[(RunSize + Math.Max(0, length - 1))..];
        }

        return runs;
    }

    /// <summary>A moment's bytes: UTC ticks and offset minutes.</summary>
    private const int MomentSize = 10;

    /// <summary>A run's bytes before its source's: two moments and the source's length.</summary>
    private const int RunSize = 2 * MomentSize + 2;

    private static void WriteMoment(Span<byte> to, DateTimeOffset moment)
    {
        BinaryPrimitives.WriteInt64LittleEndian(to, moment.UtcTicks);
        BinaryPrimitives.WriteInt16LittleEndian(to[8..], (short)moment.TotalOffsetMinutes);
    }

    private static DateTimeOffset ReadMoment(ReadOnlySpan<byte> from) =>
        new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(from), TimeSpan.Zero).ToOffset(
            TimeSpan.FromMinutes(BinaryPrimitives.ReadInt16LittleEndian(from[8..])));

    /// <summary>A visitor-day's key from its id (<see cref="VisitorDay.IdFor"/>): a site id has no '/', a day ten characters.</summary>
    private static (string SiteId, DateOnly Day, string Visitor) KeyOf(string id)
    {
        var dayAt = id.IndexOf('/') + 1;
        return (id[..(dayAt - 1)], DateOnly.ParseExact(id.AsSpan(dayAt, 10), "yyyy-MM-dd"), id[(dayAt + 11)..]);
    }
}
