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
    /// <summary>A visitor-day of no one in particular, for a recount that keys them itself (<see cref="DayRecount"/>).</summary>
    public VisitorDay()
    {
    }

    public VisitorDay(string siteId, DateOnly day, string visitor)
        : this(IdFor(siteId, day, visitor), siteId, day, visitor)
    {
    }

    /// <summary>With its id already worked out (it must be <see cref="IdFor"/> of the others): the engine has it at hand at every view.</summary>
    internal VisitorDay(string id, string siteId, DateOnly day, string visitor) => (Id, SiteId, Day, Visitor) = (id, siteId, day, visitor);

    /// <summary>Views closer than this belong to one visit (the contract's "gaps under 30 minutes").</summary>
    public static readonly TimeSpan VisitGap = TimeSpan.FromMinutes(30);

    /// <summary>The key the engine holds it by: <c>site/day/visitorHash</c> (<see cref="IdFor"/>).</summary>
    public string Id { get; } = "";

    public string SiteId { get; } = "";

    /// <summary>The site-local day.</summary>
    public DateOnly Day { get; }

    /// <summary>The visitor's pseudonym that day (<see cref="Ingestion.VisitorIdentity"/>).</summary>
    public string Visitor { get; } = "";

    /// <summary>The visits, ordered by start, each as [first view, last view].</summary>
    public List<VisitRun> Runs { get; private init; } = [];

    /// <summary>The latest view of the day: what "online now" looks at. The last visit ends with it (visits are more than a gap apart).</summary>
    public DateTimeOffset LastSeen => Runs[^1].Last;

    /// <summary>The visitor's first view of the day.</summary>
    public DateTimeOffset FirstSeen => Runs[0].First;

    /// <summary>The start of the UTC minute a moment falls in.</summary>
    public static DateTimeOffset MinuteOf(DateTimeOffset at) =>
        new(at.UtcTicks - at.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero);

    /// <summary>A copy to change while this one stays as it is (the runs are immutable records).</summary>
    public VisitorDay Copy() => new(Id, SiteId, Day, Visitor) { Runs = [.. Runs] };

    /// <summary>A visitor-day as stored (<see cref="VisitorDayStore"/>): its visits, ordered by start.</summary>
    public static VisitorDay Of(string siteId, DateOnly day, string visitor, List<VisitRun> runs) => new(siteId, day, visitor) { Runs = runs };

    public static string IdFor(string siteId, DateOnly day, string visitorHash) => $"{siteId}/{day:yyyy-MM-dd}/{visitorHash}";

    /// <summary>
    /// How many of its visits had started in [<paramref name="from"/>, <paramref name="upTo"/>] as the day stood at
    /// <paramref name="upTo"/> (<c>asOf</c>'s open ten minutes). The runs as stored answer for that earlier moment: a view after it
    /// can lengthen the visit it falls in, start a later one, or join two runs by lying between them, all of which leave the
    /// first view of every visit that had started by then where it was.
    /// </summary>
    public int VisitsStartedIn(DateTimeOffset from, DateTimeOffset upTo) => Runs.Count(r => r.First >= from && r.First <= upTo);

    /// <summary>
    /// Adds one view and says how the visit and visitor figures change: which visit starts appear or vanish
    /// (a late view can start a visit earlier, or join two visits into one), from which sources, and whether the
    /// visitor's first view of the day moved.
    /// </summary>
    /// <param name="source">Where the view came from (<see cref="Traffic.VisitSource"/>): a visit's source is its first
    /// view's, so a late view that starts a visit earlier gives it its own. Null: direct.</param>
    public ViewEffect Add(DateTimeOffset at, string? source = null)
    {
        if (Runs.Count == 0)
        {
            Runs.Add(new VisitRun(at, at, source));
            return new ViewEffect(VisitStarted: at, VisitEnded: null, SecondEnded: null, FirstViewBefore: null, FirstViewNow: at, StartedFrom: source);
        }

        var firstBefore = Runs[0].First;

        // The runs that this view touches: at most the one before it and the one after it (two indexes, not a list: this
        // runs at every view the projection applies).
        var (touched, first, second) = (0, -1, -1);
        for (var i = 0; i < Runs.Count; i++)
        {
            var run = Runs[i];
            if (at > run.First - VisitGap && at < run.Last + VisitGap)
            {
                if (touched == 0)
                {
                    first = i;
                }
                else if (touched == 1)
                {
                    second = i;
                }

                touched++;
            }
        }

        ViewEffect effect;
        if (touched == 0)
        {
            var index = 0;
            while (index < Runs.Count && Runs[index].First <= at)
            {
                index++;
            }

            Runs.Insert(index, new VisitRun(at, at, source));
            effect = new ViewEffect(at, null, null, firstBefore, Runs[0].First, StartedFrom: source);
        }
        else if (touched == 1)
        {
            var i = first;
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
            var (a, b) = (Runs[first], Runs[second]);
            var merged = at < a.First ? new VisitRun(at, Max(b.Last, at), source) : new VisitRun(a.First, Max(b.Last, at), a.Source);
            Runs[first] = merged;
            Runs.RemoveAt(second);
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
    public bool HasViewIn(DateTimeOffset start, DateTimeOffset end)
    {
        foreach (var run in Runs) // a loop, not Exists with a lambda: it runs at every view the projection applies
        {
            if (run.First < end && run.Last >= start)
            {
                return true;
            }
        }

        return false;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

/// <summary>One visit: its first and last view, and where its first view came from (null: direct).</summary>
public sealed record VisitRun(DateTimeOffset First, DateTimeOffset Last, string? Source = null);

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
