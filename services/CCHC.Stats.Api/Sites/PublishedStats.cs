using CCHC.Stats.Api.Hosting;

namespace CCHC.Stats.Api.Sites;

/// <summary>
/// Who may read a site's most-read list, traffic and statistics page: anyone when the site publishes them
/// (<see cref="Site.PublishStats"/>), otherwise the admin or auditor key. Anonymous: 403 (the figures exist, and are not
/// public); a key that is not valid: 401; the ingest key: 403.
/// </summary>
public static class PublishedStats
{
    public static IResult? Check(HttpContext http, Site site)
    {
        if (site.PublishStats)
        {
            return null;
        }

        if (string.IsNullOrEmpty(http.Request.Headers.Authorization))
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not published.",
                detail: $"Site '{site.Id}' does not publish its statistics; they may be read with the admin or auditor key.");
        }

        var keys = http.RequestServices.GetRequiredService<ApiKeys>();
        var asAdmin = keys.Check(http, KeyRole.Admin);
        return asAdmin is null || keys.Check(http, KeyRole.Auditor) is null ? null : asAdmin;
    }
}
