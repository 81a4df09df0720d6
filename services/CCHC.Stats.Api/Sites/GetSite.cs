using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Sites;

/// <summary><c>GET /api/v1/sites/{siteId}</c>: read a site (admin).</summary>
public static class GetSite
{
    public static IResult Handle(KnownSite? site) => Results.Ok(ToResponse(site!.Site));

    public static SiteResponse ToResponse(Site site) =>
        new(site.Id, site.Name, site.TimeZone, site.AllowedHosts, site.OnlineWindowMinutes, site.CreatedAt, site.UpdatedAt, site.PublishStats);
}

public static class SiteProblems
{
    public static IResult NotFound(string siteId) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown site.", detail: $"No site '{siteId}' is registered.");

    public static IResult InvalidId() =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid site id.",
            detail: "A site id is 1–64 characters of a-z, 0-9, '-' and '_'.");
}
