namespace CCHC.Stats.Contracts;

/// <summary>Body of <c>PUT /api/v1/sites/{siteId}</c>.</summary>
/// <param name="Name">Display name of the portal.</param>
/// <param name="TimeZone">IANA time zone the site's days, weeks, months and years are counted in; default <c>Asia/Ho_Chi_Minh</c>.</param>
/// <param name="AllowedHosts">Hosts whose pages may send views: <c>example.gov.vn</c> or <c>*.example.gov.vn</c> (sub-domains).</param>
/// <param name="OnlineWindowMinutes">How far back "online now" looks, 1–60; default 5.</param>
/// <param name="PublishStats">Whether anyone may read the site's most-read list, traffic and statistics page; default false
/// (then only the admin and auditor keys may).</param>
public sealed record SiteRequest(string? Name, string? TimeZone, IReadOnlyList<string>? AllowedHosts, int? OnlineWindowMinutes, bool? PublishStats = null);

/// <summary>A stored site, as <c>PUT</c> and <c>GET /api/v1/sites/{siteId}</c> answer it.</summary>
public sealed record SiteResponse(
    string SiteId,
    string Name,
    string TimeZone,
    IReadOnlyList<string> AllowedHosts,
    int OnlineWindowMinutes,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    bool PublishStats = false);

/// <summary>Body of <c>POST /api/v1/sites/{siteId}/baseline</c>: a legacy counter's totals carried over.</summary>
public sealed record BaselineRequest(DateTimeOffset? AsOf, BaselineFigures? PageViews, BaselineFigures? Visits);

/// <summary>One metric of a baseline, by period.</summary>
public sealed record BaselineFigures(long Day, long Week, long Month, long Year, long Total);

/// <summary>What <c>GET /api/v1/sites</c> (admin) answers: every site, ordered by id.</summary>
public sealed record SiteListResponse(IReadOnlyList<SiteSummary> Sites);

/// <summary>One site of the list.</summary>
/// <param name="SiteId">The site's id.</param>
/// <param name="Name">Display name.</param>
/// <param name="TimeZone">IANA time zone.</param>
/// <param name="AllowedHosts">Hosts whose pages may send views.</param>
/// <param name="Groups">The ids of the groups the site belongs to (empty when none).</param>
public sealed record SiteSummary(string SiteId, string Name, string TimeZone, IReadOnlyList<string> AllowedHosts, IReadOnlyList<string> Groups);
