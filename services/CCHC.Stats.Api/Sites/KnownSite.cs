using CCHC.Stats.Api.Operations;

namespace CCHC.Stats.Api.Sites;

/// <summary>
/// The site a route names (<c>{siteId}</c>), looked up once at the door: bound before the handler runs, and for an id
/// that names no registered site the route answers 404 before the handler (<see cref="KnownSiteFilter.RequireSite"/>).
/// A handler that takes one can count on it.
/// </summary>
public sealed record KnownSite(Site Site, TimeZoneInfo Zone)
{
    public string Id => Site.Id;

    /// <summary>Minimal APIs' binding: null when the route's id is malformed or names no site.</summary>
    public static async ValueTask<KnownSite?> BindAsync(HttpContext http)
    {
        if (http.GetRouteValue("siteId") is not string siteId || !PutSite.IsValidSiteId(siteId))
        {
            return null;
        }

        var sites = http.RequestServices.GetRequiredService<SiteDirectory>();
        var site = await sites.FindAsync(siteId, http.RequestAborted);
        return site is null ? null : new KnownSite(site, sites.ZoneOf(site));
    }
}

public static class KnownSiteFilter
{
    /// <summary>
    /// Answers 404 (problem+json) before the handler when the route's site is unknown. Added after the key filter, so
    /// a request without the right key hears 401/403 first. <paramref name="viewRefused"/>: the route takes views, and an
    /// unknown site counts as a refused view in the metrics.
    /// </summary>
    public static TBuilder RequireSite<TBuilder>(this TBuilder builder, bool viewRefused = false) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory((factory, next) =>
        {
            var index = Array.FindIndex(factory.MethodInfo.GetParameters(), p => p.ParameterType == typeof(KnownSite));
            if (index < 0)
            {
                throw new InvalidOperationException($"{factory.MethodInfo.Name} takes no {nameof(KnownSite)}: RequireSite has nothing to check.");
            }

            // Not an async lambda: a known site, the usual case, goes straight on without a state machine of its own.
            return context => context.Arguments[index] is not null ? next(context) : ValueTask.FromResult<object?>(Unknown(context.HttpContext, viewRefused));
        });

    private static IResult Unknown(HttpContext http, bool viewRefused)
    {
        var siteId = http.GetRouteValue("siteId") as string ?? "";
        if (viewRefused && PutSite.IsValidSiteId(siteId))
        {
            http.RequestServices.GetRequiredService<StatsMetrics>().Refused(siteId, RefusalReason.UnknownSite);
        }

        return SiteProblems.NotFound(siteId);
    }
}
