using System.Text.Json.Serialization;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// One visitor's views on one site-local day, kept as runs of views less than <see cref="VisitGap"/> apart:
/// each run is one visit. The runs depend only on the set of view times, never on the order they arrive in,
/// so a replay, a late batch import and the live pipeline all reach the same visits.
/// </summary>
/// <remarks>
/// A visit never crosses local midnight because a visitor-day holds only one local day's views.
/// </remarks>
public sealed class VisitorDay
{
    /// <summary>Marten's alias, hence the table <c>mt_doc_visitor_day</c> the projection writes in bulk.</summary>
    public const string DocumentAlias = "visitor_day";

    /// <summary>Views closer than this belong to one visit (the contract's "gaps under 30 minutes").</summary>
    public static readonly TimeSpan VisitGap = TimeSpan.FromMinutes(30);

    /// <summary>Document id: <c>site/day/visitorHash</c> (the day and the visitor are not stored again).</summary>
    public string Id { get; set; } = "";

    /// <summary>The site, for the index that counts who is online.</summary>
    public string SiteId { get; set; } = "";

    /// <summary>The visits, ordered by start, each as [first view, last view].</summary>
    public List<VisitRun> Runs { get; set; } = [];

    /// <summary>The latest view of the day: what "online now" looks at.</summary>
    public DateTimeOffset LastSeen { get; set; }

    /// <summary>
    /// <see cref="LastSeen"/> cut to the minute (UTC), stored in its own column beside <see cref="SiteId"/>'s for the
    /// index that finds who is online (the exact <see cref="LastSeen"/>, also a column of its own but in no index, is
    /// then checked on the row). A visitor's views within a minute leave the indexed columns as they were, so
    /// PostgreSQL can rewrite the row in place without touching an index (a HOT update): an index on the JSON, or on
    /// the exact time, would be touched by every view, and the rewrite of a visitor-day per view is the projection's
    /// largest cost. Not part of the JSON: it follows from <see cref="LastSeen"/>.
    /// </summary>
    [JsonIgnore]
    public DateTimeOffset LastSeenMinute => MinuteOf(LastSeen);

    /// <summary>The start of the UTC minute a moment falls in.</summary>
    public static DateTimeOffset MinuteOf(DateTimeOffset at) =>
        new(at.UtcTicks - at.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero);

    /// <summary>A copy to change while this one stays as it is (the runs are immutable records).</summary>
    public VisitorDay Copy() => new() { Id = Id, SiteId = SiteId, Runs = [.. Runs], LastSeen = LastSeen };

    public static string IdFor(string siteId, DateOnly day, string visitorHash) => $"{siteId}/{day:yyyy-MM-dd}/{visitorHash}";

    /// <summary>
    /// Adds one view and says how the visit and visitor figures change: which visit starts appear or vanish
    /// (a late view can start a visit earlier, or join two visits into one), from which sources, and whether the
    /// visitor's first view of the day moved.
    /// </summary>
    /// <param name="source">Where the view came from (<see cref="Traffic.VisitSource"/>): a visit's source is its first
    /// view's, so a late view that starts a visit earlier gives it its own. Null: direct.</param>
    public ViewEffect Add(DateTimeOffset at, string? source = null)
    {
        if (at > LastSeen || Runs.Count == 0)
        {
            LastSeen = at;
        }

        if (Runs.Count == 0)
        {
            Runs.Add(new VisitRun(at, at, source));
            return new ViewEffect(VisitStarted: at, VisitEnded: null, SecondEnded: null, FirstViewBefore: null, FirstViewNow: at, StartedFrom: source);
        }

        var firstBefore = Runs[0].First;

        // The runs that this view touches: at most the one before it and the one after it.
        var joins = new List<int>(2);
        for (var i = 0; i < Runs.Count; i++)
        {
            var run = Runs[i];
            if (at > run.First - VisitGap && at < run.Last + VisitGap)
            {
                joins.Add(i);
            }
        }

        ViewEffect effect;
        if (joins.Count == 0)
        {
            var index = Runs.FindIndex(r => r.First > at);
            Runs.Insert(index < 0 ? Runs.Count : index, new VisitRun(at, at, source));
            effect = new ViewEffect(at, null, null, firstBefore, Runs[0].First, StartedFrom: source);
        }
        else if (joins.Count == 1)
        {
            var i = joins[0];
            var run = Runs[i];
            var merged = at < run.First ? new VisitRun(at, run.Last, source) : run with { Last = Max(run.Last, at) };
            Runs[i] = merged;
            effect = merged.First != run.First
                ? new ViewEffect(merged.First, run.First, null, firstBefore, Runs[0].First, StartedFrom: source, EndedFrom: run.Source)
                : new ViewEffect(null, null, null, firstBefore, Runs[0].First);
        }
        else
        {
            // Runs are more than a gap apart, so a view can bridge at most two neighbours.
            var (a, b) = (Runs[joins[0]], Runs[joins[1]]);
            var merged = at < a.First ? new VisitRun(at, Max(b.Last, at), source) : new VisitRun(a.First, Max(b.Last, at), a.Source);
            Runs[joins[0]] = merged;
            Runs.RemoveAt(joins[1]);
            effect = new ViewEffect(
                merged.First != a.First ? merged.First : null,
                merged.First != a.First ? a.First : null,
                b.First,
                firstBefore,
                Runs[0].First,
                StartedFrom: merged.Source,
                EndedFrom: a.Source,
                SecondEndedFrom: b.Source);
        }

        return effect;
    }

    /// <summary>
    /// Whether the visitor has a view in [<paramref name="start"/>, <paramref name="end"/>): some visit overlaps it. Exact
    /// for spans of at least <see cref="VisitGap"/> (an hour): a visit that covers such a span has a view inside it, since
    /// its views are less than a gap apart.
    /// </summary>
    public bool HasViewIn(DateTimeOffset start, DateTimeOffset end) => Runs.Exists(r => r.First < end && r.Last >= start);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

/// <summary>One visit: its first and last view, and where its first view came from (null: direct, left out of the JSON).</summary>
public sealed record VisitRun(
    DateTimeOffset First,
    DateTimeOffset Last,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Source = null);

/// <summary>
/// What adding one view changed. A visit start appears at <see cref="VisitStarted"/> (if any) and vanishes at
/// <see cref="VisitEnded"/> and <see cref="SecondEnded"/> (if any); the visitor's first view of the day moved
/// from <see cref="FirstViewBefore"/> (null: a new visitor) to <see cref="FirstViewNow"/>. Each visit start comes with
/// its visit's source (<see cref="StartedFrom"/>, <see cref="EndedFrom"/>, <see cref="SecondEndedFrom"/>; null: direct).
/// </summary>
public readonly record struct ViewEffect(
    DateTimeOffset? VisitStarted,
    DateTimeOffset? VisitEnded,
    DateTimeOffset? SecondEnded,
    DateTimeOffset? FirstViewBefore,
    DateTimeOffset FirstViewNow,
    string? StartedFrom = null,
    string? EndedFrom = null,
    string? SecondEndedFrom = null)
{
    /// <summary>The change in the number of visits.</summary>
    public int VisitDelta => (VisitStarted is null ? 0 : 1) - (VisitEnded is null ? 0 : 1) - (SecondEnded is null ? 0 : 1);

    public bool NewVisitor => FirstViewBefore is null;
}

/// <summary>
/// Visitor-days as the column arrays of one bulk write: ids, JSON documents, and the columns kept beside the JSON
/// for "online now" (site, last view, and last view to the minute).
/// The rows are Marten's own documents (Marten reads them as usual), written with two statements rather than
/// Marten's per-document upserts, the most expensive step of the pipeline when they were used: new ones with a plain
/// INSERT (a third cheaper than INSERT … ON CONFLICT), stored ones with an UPDATE. Only the projection and the
/// replay write visitor-days, one page at a time, having just looked each one up; so "new" is safe to trust.
/// </summary>
public sealed record VisitorDayRows(string[] Ids, string[] Json, string[] Sites, DateTimeOffset[] LastSeen, DateTimeOffset[] Minutes)
{
    public static readonly VisitorDayRows None = new([], [], [], [], []);

    public int Count => Ids.Length;

    public static VisitorDayRows Of(IReadOnlyCollection<VisitorDay> days, Marten.ISerializer serializer) => new(
        days.Select(d => d.Id).ToArray(),
        days.Select(d => serializer.ToJson(d)).ToArray(),
        days.Select(d => d.SiteId).ToArray(),
        days.Select(d => d.LastSeen.ToUniversalTime()).ToArray(),
        days.Select(d => d.LastSeenMinute).ToArray());

    /// <summary>The values for <see cref="InsertSql"/>, in its parameters' order.</summary>
    public object[] InsertValues => [Ids, Json, Sites, LastSeen, Minutes];

    /// <summary>The values for <see cref="UpdateSql"/>, in its parameters' order (a visitor-day's site never changes).</summary>
    public object[] UpdateValues => [Ids, Json, LastSeen, Minutes];

    /// <summary>
    /// Inserts rows known to be new. <paramref name="parameter"/> names the n-th parameter (from 1): Marten's
    /// <c>?</c> or Npgsql's <c>$n</c>. Each document is cast from text one by one: casting the whole array to
    /// <c>jsonb[]</c> took PostgreSQL about twice as long.
    /// </summary>
    public static string InsertSql(string schema, Func<int, string> parameter) =>
        $"INSERT INTO {schema}.mt_doc_{VisitorDay.DocumentAlias} (id, data, site_id, last_seen, last_seen_minute) " +
        $"SELECT u.id, u.data::jsonb, u.site, u.last_seen, u.minute FROM unnest({parameter(1)}::varchar[], {parameter(2)}::text[], " +
        $"{parameter(3)}::varchar[], {parameter(4)}::timestamptz[], {parameter(5)}::timestamptz[]) AS u(id, data, site, last_seen, minute)";

    /// <summary>Updates stored rows, as <see cref="InsertSql"/> inserts new ones.</summary>
    public static string UpdateSql(string schema, Func<int, string> parameter) =>
        $"UPDATE {schema}.mt_doc_{VisitorDay.DocumentAlias} AS d SET data = u.data::jsonb, last_seen = u.last_seen, last_seen_minute = u.minute " +
        $"FROM unnest({parameter(1)}::varchar[], {parameter(2)}::text[], {parameter(3)}::timestamptz[], {parameter(4)}::timestamptz[]) " +
        "AS u(id, data, last_seen, minute) WHERE d.id = u.id";
}
