namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The online rule, written once: a visitor is online at a moment when they have a view in the site's online window
/// before it, (<see cref="Since"/>, <see cref="Until"/>]. Live counters ask the stored visitor-days (their last view) and
/// <c>asOf</c> asks a recount of the raw views (<see cref="DayRecount.OnlineIn"/>); both through this type.
/// </summary>
public readonly record struct OnlineWindow(DateTimeOffset Since, DateTimeOffset Until)
{
    /// <summary>The window of <paramref name="minutes"/> that ends at <paramref name="moment"/>.</summary>
    public static OnlineWindow Before(DateTimeOffset moment, int minutes) => new(moment - TimeSpan.FromMinutes(minutes), moment);

    /// <summary>Whether a view at <paramref name="at"/> makes its visitor online.</summary>
    public bool Contains(DateTimeOffset at) => at > Since && at <= Until;
}
