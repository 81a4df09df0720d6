namespace CCHC.Stats.Api.Sites;

/// <summary>A portal whose views are counted. Stored as a Marten document; id = the contract's siteId.</summary>
public sealed class Site
{
    public const string DefaultTimeZone = "Asia/Ho_Chi_Minh";
    public const int DefaultOnlineWindowMinutes = 5;

    public string Id { get; set; } = "";

    public string Name { get; set; } = "";

    public string TimeZone { get; set; } = DefaultTimeZone;

    public List<string> AllowedHosts { get; set; } = [];

    public int OnlineWindowMinutes { get; set; } = DefaultOnlineWindowMinutes;

    /// <summary>Whether anyone may read the most-read list, traffic and statistics page (otherwise the admin and auditor keys).</summary>
    public bool PublishStats { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public TimeZoneInfo Zone() => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);

    /// <summary>
    /// Whether a page on <paramref name="host"/> may send views: an exact entry, or <c>*.domain</c> for any
    /// sub-domain of it (not the domain itself, which is listed on its own).
    /// </summary>
    public bool AllowsHost(string host)
    {
        foreach (var allowed in AllowedHosts)
        {
            if (allowed.StartsWith("*.", StringComparison.Ordinal))
            {
                if (host.EndsWith(allowed[1..], StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
            else if (string.Equals(host, allowed, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
