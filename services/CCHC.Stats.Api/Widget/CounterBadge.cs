using System.Globalization;
using System.Net;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Groups;
using CCHC.Stats.Api.Pages;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Widget;

/// <summary>
/// <c>GET /api/v1/sites/{siteId}/counter.svg?period=total&amp;metric=visits[&amp;lang=en]</c>: one live figure as an
/// SVG badge, for pages that run no script. Served from the same memory as the counters. With <c>url=</c>, the views of
/// that page (<see cref="PageCounts"/>) in the period (all time by default).
/// </summary>
public static class CounterBadge
{
    private static readonly Dictionary<string, (string Vi, string En)> Labels = new()
    {
        ["online"] = ("Đang truy cập", "Online now"),
        ["day"] = ("Tổng số trong ngày", "Today"),
        ["week"] = ("Tổng số trong tuần", "This week"),
        ["month"] = ("Tổng số trong tháng", "This month"),
        ["year"] = ("Tổng số trong năm", "This year"),
        ["total"] = ("Tổng số truy cập", "All time"),
    };

    public static async Task<IResult> Handle(
        string siteId, string? period, string? metric, string? lang, string? url, HttpContext http,
        SiteDirectory sites, LiveCounters live, LiveCounterRefresher refresher, PageCounts pages, CancellationToken ct)
    {
        if (url is not null)
        {
            return await PageBadgeAsync(siteId, period, metric, lang, url, http, sites, pages, ct);
        }

        period ??= "total";
        metric ??= "visits";
        if (BadFigure(period, metric) is { } invalid)
        {
            return invalid;
        }

        if (!live.TryGet(siteId, out var snapshot))
        {
            var site = PutSite.IsValidSiteId(siteId) ? await sites.FindAsync(siteId, ct) : null;
            if (site is null)
            {
                return SiteProblems.NotFound(siteId);
            }

            var fresh = await refresher.RefreshOneAsync(site, ct);
            if (fresh is null)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Counters are catching up.");
            }

            snapshot = fresh;
        }

        var c = snapshot.Counters;
        return Badge(http, period, metric, lang, c.Online, [c.Day, c.Week, c.Month, c.Year, c.Total]);
    }

    /// <summary><c>GET /api/v1/groups/{groupId}/counter.svg</c>: a group's live figure, as a site's.</summary>
    public static async Task<IResult> HandleGroup(
        string groupId, string? period, string? metric, string? lang, HttpContext http, GroupDirectory groups, GroupCounters counters, CancellationToken ct)
    {
        period ??= "total";
        metric ??= "visits";
        if (BadFigure(period, metric) is { } invalid)
        {
            return invalid;
        }

        if (!counters.TryGet(groupId, out var snapshot))
        {
            var group = await GetGroupCounters.FindAsync(groupId, groups, ct);
            if (group is null)
            {
                return GroupProblems.NotFound(groupId);
            }

            snapshot = await counters.RefreshAsync(group, ct);
            if (snapshot is null)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Counters are catching up.");
            }
        }

        var c = snapshot.Counters;
        return Badge(http, period, metric, lang, c.Online, [c.Day, c.Week, c.Month, c.Year, c.Total]);
    }

    /// <summary>A problem when a badge's period and metric name no figure.</summary>
    private static IResult? BadFigure(string period, string metric) =>
        !Labels.ContainsKey(period) || metric is not ("visits" or "pageViews" or "visitors") || (metric == "visitors" && period is not ("day" or "online"))
            ? Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid badge.",
                detail: "period is online, day, week, month, year or total; metric is visits or pageViews (visitors for day).")
            : null;

    /// <param name="periods">Day, week, month, year and all time, in that order.</param>
    private static IResult Badge(HttpContext http, string period, string metric, string? lang, long online, PeriodFigures[] periods)
    {
        var value = period == "online" ? online : Figure(periods[Array.IndexOf(Periods, period)], metric);
        var english = lang == "en";
        var label = english ? Labels[period].En : Labels[period].Vi;
        var number = value.ToString("N0", CultureInfo.GetCultureInfo(english ? "en-US" : "vi-VN"));
        http.Response.Headers.CacheControl = $"public, max-age={GetCounters.MaxAgeSeconds}";
        return Results.Text(Svg(label, number), "image/svg+xml; charset=utf-8");
    }

    private static readonly string[] Periods = ["day", "week", "month", "year", "total"];

    /// <summary>A page's views: "Lượt xem" in a period (page views are the one figure a page has).</summary>
    private static async Task<IResult> PageBadgeAsync(string siteId, string? period, string? metric, string? lang, string url, HttpContext http,
        SiteDirectory sites, PageCounts pages, CancellationToken ct)
    {
        var site = PutSite.IsValidSiteId(siteId) ? await sites.FindAsync(siteId, ct) : null;
        if (site is null)
        {
            return SiteProblems.NotFound(siteId);
        }

        period ??= "total";
        if (period is "online" || !Labels.ContainsKey(period) || metric is not (null or "pageViews"))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid badge.",
                detail: "A page's badge shows its page views: period is day, week, month, year or total; metric is pageViews.");
        }

        var known = new KnownSite(site, sites.ZoneOf(site));
        var (page, problem) = GetPageViews.PageOfQuery(known, url);
        if (problem is not null)
        {
            return problem;
        }

        var figures = (await pages.LiveAsync(known, page!))?.Figures;
        if (figures is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Counters are catching up.");
        }

        var value = period switch
        {
            "day" => figures.Day, "week" => figures.Week, "month" => figures.Month, "year" => figures.Year, _ => figures.Total,
        };
        var english = lang == "en";
        var label = (english ? "Views" : "Lượt xem") + (period == "total" ? "" : $" · {(english ? Labels[period].En : Labels[period].Vi)}");
        http.Response.Headers.CacheControl = $"public, max-age={GetCounters.MaxAgeSeconds}";
        return Results.Text(Svg(label, value.PageViews.ToString("N0", CultureInfo.GetCultureInfo(english ? "en-US" : "vi-VN"))), "image/svg+xml; charset=utf-8");
    }

    private static long Figure(PeriodFigures figures, string metric) =>
        metric switch { "pageViews" => figures.PageViews, "visitors" => figures.Visitors ?? 0, _ => figures.Visits };

    /// <summary>A two-part badge; widths estimated at 7 px a character (no font metrics server-side).</summary>
    private static string Svg(string label, string number)
    {
        var left = 12 + label.Length * 7;
        var right = 12 + number.Length * 8;
        var l = WebUtility.HtmlEncode(label);
        return $"""
            <svg xmlns="http://www.w3.org/2000/svg" width="{left + right}" height="22" role="img" aria-label="{l}: {number}">
              <title>{l}: {number}</title>
              <rect width="{left}" height="22" fill="#555"/>
              <rect x="{left}" width="{right}" height="22" fill="#a31d24"/>
              <g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="12">
                <text x="6" y="15">{l}</text>
                <text x="{left + 6}" y="15" font-weight="bold">{number}</text>
              </g>
            </svg>
            """;
    }
}
