using System.Text.Json.Serialization;

namespace CCHC.Stats.Api.Pages;

/// <summary>
/// A legacy CMS's total for one article was carried over (NukeViet's <c>hitstotal</c>): added to the page's all-time
/// figure for moments at or after <see cref="AsOf"/>, never to the site's figures. One event per page, so the history
/// shows each (<c>pageBaseline</c>).
/// </summary>
/// <param name="SiteId">The site.</param>
/// <param name="AsOf">The moment the legacy figure stood at, in the site's local offset.</param>
/// <param name="Day">The local date of <paramref name="AsOf"/> (the day whose history holds this fact).</param>
/// <param name="Url">The URL as the request gave it.</param>
/// <param name="Page">Its page (<see cref="PageIdentity"/>), as it was worked out when recorded.</param>
/// <param name="PageViews">The legacy total.</param>
/// <param name="Title">The article's title, if given.</param>
/// <param name="RecordedAt">When it was given.</param>
public sealed record PageBaselineRecorded(
    string SiteId,
    DateTimeOffset AsOf,
    DateOnly Day,
    string Url,
    string Page,
    long PageViews,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Title,
    DateTimeOffset RecordedAt);
