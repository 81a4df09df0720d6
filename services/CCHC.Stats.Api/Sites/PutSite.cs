using System.Text.RegularExpressions;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Contracts;
using Marten;

namespace CCHC.Stats.Api.Sites;

/// <summary><c>PUT /api/v1/sites/{siteId}</c>: create or update a site (admin).</summary>
public static partial class PutSite
{
    public const int MinOnlineWindow = 1;
    public const int MaxOnlineWindow = 60;

    [GeneratedRegex("^[a-z0-9_-]{1,64}$")]
    private static partial Regex SiteIdPattern();

    [GeneratedRegex(@"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")]
    private static partial Regex HostPattern();

    public static bool IsValidSiteId(string siteId) => SiteIdPattern().IsMatch(siteId);

    /// <summary>
    /// An IANA zone id. The runtime also finds Windows names ('SE Asia Standard Time') by converting them; a site's zone
    /// is shown to portals and auditors and compared across sites, so it has one spelling.
    /// </summary>
    public static bool IsIanaZone(string id) =>
        StorableText.IsStorable(id) && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) && zone.HasIanaId
        && string.Equals(zone.Id, id, StringComparison.Ordinal);

    /// <summary>Checks a request; answers the errors by field, empty when it is valid.</summary>
    public static Dictionary<string, string[]> Validate(string siteId, SiteRequest? request)
    {
        var errors = new Dictionary<string, string[]>();
        if (!IsValidSiteId(siteId))
        {
            errors["siteId"] = ["A site id is 1–64 characters of a-z, 0-9, '-' and '_'."];
        }

        if (request is null)
        {
            errors["body"] = ["A JSON body with the site is required."];
            return errors;
        }

        CheckSettings(errors, request.Name, request.TimeZone, request.OnlineWindowMinutes);

        if (request.AllowedHosts is null || request.AllowedHosts.Count == 0)
        {
            errors["allowedHosts"] = ["At least one allowed host is required (e.g. 'portal.gov.vn' or '*.portal.gov.vn')."];
        }
        else if (request.AllowedHosts.Count > 100 || request.AllowedHosts.Any(h => h is null || !HostPattern().IsMatch(h.ToLowerInvariant())))
        {
            errors["allowedHosts"] = ["Each allowed host is a host name or '*.' followed by one (at most 100 entries)."];
        }

        return errors;
    }

    /// <summary>The settings a site and a group share: a name of 1–200 storable characters, an IANA zone, an online window.</summary>
    public static void CheckSettings(Dictionary<string, string[]> errors, string? name, string? timeZone, int? onlineWindowMinutes)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200)
        {
            errors["name"] = ["A name of 1–200 characters is required."];
        }
        else if (!StorableText.IsStorable(name))
        {
            errors["name"] = [$"The name {StorableText.Refusal}."];
        }

        if (timeZone is not null && !IsIanaZone(timeZone))
        {
            errors["timeZone"] = [$"'{timeZone}' is not a known IANA time zone id (such as 'Asia/Ho_Chi_Minh')."];
        }

        if (onlineWindowMinutes is < MinOnlineWindow or > MaxOnlineWindow)
        {
            errors["onlineWindowMinutes"] = [$"The online window is {MinOnlineWindow}–{MaxOnlineWindow} minutes."];
        }
    }

    public static async Task<IResult> Handle(
        string siteId, SiteRequest? request, IDocumentSession session, SiteDirectory sites, TimeProvider clock, CancellationToken ct)
    {
        var errors = Validate(siteId, request);
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The site is not valid.");
        }

        // A group counts its members in its own zone: a member cannot move to another.
        var timeZone = request!.TimeZone ?? Site.DefaultTimeZone;
        var groups = await session.Query<Groups.Group>().Where(g => g.Sites.Contains(siteId)).ToListAsync(ct);
        if (groups.FirstOrDefault(g => g.TimeZone != timeZone) is { } group)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]>
            {
                ["timeZone"] = [$"The site belongs to group '{group.Id}', which counts in {group.TimeZone}; take it out of the group before it changes zone."],
            }, title: "The site is not valid.");
        }

        var now = clock.GetUtcNow();
        var site = await session.LoadAsync<Site>(siteId, ct) ?? new Site { Id = siteId, CreatedAt = now };
        site.Name = request.Name!.Trim();
        site.TimeZone = timeZone;
        site.AllowedHosts = request.AllowedHosts!.Select(h => h.ToLowerInvariant()).Distinct().ToList();
        site.OnlineWindowMinutes = request.OnlineWindowMinutes ?? Site.DefaultOnlineWindowMinutes;
        site.PublishStats = request.PublishStats ?? false;
        site.UpdatedAt = now;
        session.Store(site);
        await session.SaveChangesAsync(ct);
        sites.Remember(site);
        return Results.Ok(GetSite.ToResponse(site));
    }
}
