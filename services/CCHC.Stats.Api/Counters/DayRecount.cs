namespace CCHC.Stats.Api.Counters;

/// <summary>One raw page view of a site-day, as the recounts read it from the history.</summary>
/// <param name="Sequence">Its place in the history.</param>
/// <param name="VisitorHash">The visitor's daily pseudonym.</param>
/// <param name="At">When it occurred.</param>
/// <param name="Source">Where it came from (<see cref="Traffic.VisitSource"/>), when the recount counts sources; null: direct.</param>
public readonly record struct DayView(long Sequence, string VisitorHash, DateTimeOffset At, string? Source = null);

/// <summary>
/// A site-day recounted from its raw views with the engine's own rules: the visit rule of <see cref="VisitorDay"/>
/// (the same code the projection counts with) and the online rule of <see cref="OnlineWindow"/>. What every exact figure
/// is taken from: <c>asOf</c> (the day containing the moment), verify's recount and the day seals (every day), and the
/// history export's <c>startedVisit</c>. Pure: no clock, no I/O.
/// </summary>
/// <remarks>
/// <para>
/// Which view starts a visit: the first, in the order views are added, at its visit's first moment. Added in sequence
/// order that is the earliest view (ties: the one recorded first), whatever order the views occurred in.
/// </para>
/// </remarks>
public sealed class DayRecount
{
    private readonly Dictionary<string, VisitorDay> _visitors = [];

    /// <summary>Each visit by its visitor and first moment, with the sequence of the view that starts it and its source.</summary>
    private readonly Dictionary<(string Visitor, DateTimeOffset Start), (long Sequence, string? Source)> _visitStarts = [];

    private HashSet<long>? _startSequences;

    public long PageViews { get; private set; }

    public long Visits => _visitStarts.Count;

    /// <summary>The visits, by the source of their first view.</summary>
    public Dictionary<string, long> VisitsBySource => _visitStarts
        .GroupBy(v => v.Value.Source ?? Traffic.VisitSource.Direct)
        .ToDictionary(g => g.Key, g => (long)g.Count());

    public long Visitors => _visitors.Count;

    public static DayRecount Of(IEnumerable<DayView> views)
    {
        var recount = new DayRecount();
        foreach (var view in views)
        {
            recount.Add(view);
        }

        return recount;
    }

    public void Add(DayView view)
    {
        if (!_visitors.TryGetValue(view.VisitorHash, out var day))
        {
            _visitors[view.VisitorHash] = day = new VisitorDay();
        }

        var effect = day.Add(view.At, view.Source == Traffic.VisitSource.Direct ? null : view.Source);
        PageViews++;

        if (effect.VisitEnded is { } ended)
        {
            _visitStarts.Remove((view.VisitorHash, ended));
        }

        if (effect.SecondEnded is { } secondEnded)
        {
            _visitStarts.Remove((view.VisitorHash, secondEnded));
        }

        if (effect.VisitStarted is { } started)
        {
            _visitStarts[(view.VisitorHash, started)] = (view.Sequence, effect.StartedFrom);
        }

        _startSequences = null;
    }

    /// <summary>Whether the view of <paramref name="sequence"/> starts a visit, given every view added.</summary>
    public bool StartedVisit(long sequence) => (_startSequences ??= [.. _visitStarts.Values.Select(v => v.Sequence)]).Contains(sequence);

    /// <summary>
    /// The hashes of the visitors online in <paramref name="window"/>: those whose last view is in it, as for the live
    /// counters. Add no view after the window's end (an <c>asOf</c> recount reads the views up to its moment).
    /// </summary>
    public IEnumerable<string> OnlineVisitorsIn(OnlineWindow window) => _visitors.Where(v => window.Contains(v.Value.LastSeen)).Select(v => v.Key);
}
