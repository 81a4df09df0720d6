using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Ingestion;
using CCHC.Stats.Api.Sites;

namespace CCHC.Stats.Api.Pages;

/// <summary>
/// <c>GET /api/v1/sites/{siteId}/pages/views?url=[&amp;asOf=]</c> (public): the views of one page, what an article shows
/// beside "Lượt xem:". A page never viewed has zeros; a URL on a host the site does not allow is a 403.
/// </summary>
public static class GetPageViews
{
    public static async Task<IResult> Handle(KnownSite? site, string? url, string? asOf, HttpContext http, PageCounts pages, TimeProvider clock,
        CancellationToken ct)
    {
        var (page, problem) = PageOfQuery(site!, url);
        if (problem is not null)
        {
            return problem;
        }

        var (moment, timeProblem) = GetCounters.ReadAsOf(asOf, clock);
        if (timeProblem is not null)
        {
            return timeProblem;
        }

        var figures = moment is { } at
            ? await pages.AsOfAsync(site!, page!, at, ct) is { } then ? PageCounts.Answer(then) : null
            : await pages.LiveAsync(site!, page!);
        if (figures is null)
        {
            return GetCounters.CatchingUp(http);
        }

        return CacheableJson.ServeMade(http, figures, GetCounters.MaxAgeSeconds);
    }

    /// <summary>The page of a query's <c>url</c>: 400 when it is missing or not an absolute http(s) URL, 403 when its host is not the site's.</summary>
    public static (string? Page, IResult? Problem) PageOfQuery(KnownSite site, string? url)
    {
        var (refusal, reason) = ViewRules.Check(site.Site, url, null, null);
        return refusal switch
        {
            ViewRules.Refusal.None => (PageIdentity.Of(url!), null),
            ViewRules.Refusal.HostNotAllowed => (null, Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Host not allowed.", detail: reason)),
            _ => (null, Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid url.", detail: reason)),
        };
    }
}
