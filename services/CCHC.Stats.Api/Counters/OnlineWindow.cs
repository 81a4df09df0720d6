namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The online rule, written once: a visitor is online at a moment when they have a view in the site's online window
/// before it, (<see cref="Since"/>, <see cref="Until"/>]. <c>asOf</c> asks it of a recount of the raw views
/// (<see cref="Contains"/>, through <see cref="DayRecount.OnlineVisitorsIn"/>); live counters ask the stored visitor-days'
/// last view in SQL (<see cref="ContainsSql"/>, through <see cref="VisitorDayStore.OnlineCommand"/>). The two forms are side by
/// side here, and a test holds them to the same answer at the window's edges.
/// </summary>
public readonly record struct OnlineWindow(DateTimeOffset Since, DateTimeOffset Until)
{
    /// <summary>The window of <paramref name="minutes"/> that ends at <paramref name="moment"/>.</summary>
    public static OnlineWindow Before(DateTimeOffset moment, int minutes) => new(moment - TimeSpan.FromMinutes(minutes), moment);

    /// <summary>Whether a view at <paramref name="at"/> makes its visitor online.</summary>
    public bool Contains(DateTimeOffset at) => at > Since && at <= Until;

    /// <summary>
    /// <see cref="Contains"/> as a SQL condition on a column of view times, the window's bounds given as the parameters
    /// <paramref name="since"/> and <paramref name="until"/> (<see cref="Since"/> and <see cref="Until"/>).
    /// </summary>
    public static string ContainsSql(string column, string since, string until) => $"{column} > {since} AND {column} <= {until}";
}
