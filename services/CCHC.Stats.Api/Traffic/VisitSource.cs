namespace CCHC.Stats.Api.Traffic;

/// <summary>
/// Where a visit came from: the referrer of its first view, named. One function, used by the counting engine (a visit
/// counts for the source of its first view) and by every recount; it reads only the view's own facts (its referrer and
/// its URL), never the site's settings, so a replay names a visit as the live count did.
/// <list type="bullet">
/// <item>No referrer, one that is not an http(s) address or an Android app, or one on the viewed page's own host
/// (<c>www.</c> aside): <see cref="Direct"/>.</item>
/// <item>A known engine or network (<see cref="Known"/>, the table README and docs/API.md show): its name. Google by any
/// of its country domains (<c>google.com.vn</c>, <c>google.de</c>, …).</item>
/// <item>Any other: the referrer's host, lower case, without <c>www.</c>.</item>
/// </list>
/// </summary>
public static class VisitSource
{
    public const string Direct = "direct";

    /// <summary>The longest host name DNS allows: a longer one is no referrer anybody followed.</summary>
    private const int MaxHost = 253;

    /// <summary>
    /// The named sources, by the registrable host they are reached from (the host itself or any of its sub-domains, so
    /// <c>l.facebook.com</c> and <c>m.facebook.com</c> are <c>facebook</c>), and the Android apps that send their package
    /// as the referrer. Google's country domains are matched apart (<see cref="IsGoogle"/>).
    /// </summary>
    public static readonly IReadOnlyList<(string Source, string[] Hosts)> Known =
    [
        ("google", ["google.com", "googlequicksearchbox", "com.google.android.gm"]),
        ("coccoc", ["coccoc.com", "coccoc.vn", "com.coccoc.trinhduyet"]),
        ("bing", ["bing.com", "msn.com"]),
        ("facebook", ["facebook.com", "fb.com", "fb.me", "messenger.com", "com.facebook.katana", "com.facebook.orca"]),
        ("zalo", ["zalo.me", "zalo.vn", "zaloapp.com", "com.zing.zalo"]),
        ("youtube", ["youtube.com", "youtu.be", "com.google.android.youtube"]),
        ("tiktok", ["tiktok.com", "com.ss.android.ugc.trill", "com.zhiliaoapp.musically"]),
        ("baomoi", ["baomoi.com", "com.epi"]),
        ("yahoo", ["yahoo.com"]),
        ("duckduckgo", ["duckduckgo.com"]),
        ("yandex", ["yandex.ru", "yandex.com"]),
        ("instagram", ["instagram.com", "com.instagram.android"]),
        ("x", ["t.co", "twitter.com", "x.com"]),
        ("linkedin", ["linkedin.com", "lnkd.in"]),
        ("chatgpt", ["chatgpt.com", "chat.openai.com"]),
    ];

    /// <summary>The source of a view that starts a visit. Never throws.</summary>
    public static string Of(string? referrer, string? url)
    {
        if (string.IsNullOrWhiteSpace(referrer) || !Uri.TryCreate(referrer.Trim(), UriKind.Absolute, out var from))
        {
            return Direct;
        }

        if (from.Host.Length is 0 or > MaxHost)
        {
            return Direct;
        }

        if (from.Scheme == "android-app")
        {
            return Named(from.Host.ToLowerInvariant()) ?? from.Host.ToLowerInvariant();
        }

        if (from.Scheme is not ("http" or "https"))
        {
            return Direct;
        }

        var host = WithoutWww(from.IdnHost.ToLowerInvariant().TrimEnd('.'));
        if (url is not null && Uri.TryCreate(url, UriKind.Absolute, out var page) && WithoutWww(page.IdnHost.ToLowerInvariant().TrimEnd('.')) == host)
        {
            return Direct;
        }

        return Named(host) ?? host;
    }

    private static string? Named(string host)
    {
        if (IsGoogle(host))
        {
            return "google";
        }

        foreach (var (source, hosts) in Known)
        {
            foreach (var known in hosts)
            {
                if (host == known || (host.Length > known.Length && host.EndsWith(known, StringComparison.Ordinal) && host[^(known.Length + 1)] == '.'))
                {
                    return source;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Google's search on any country domain: a <c>google</c> label followed only by a country's suffix
    /// (<c>google.com.vn</c>, <c>google.co.uk</c>, <c>google.de</c>, <c>news.google.com</c>).
    /// </summary>
    private static bool IsGoogle(string host)
    {
        var labels = host.Split('.');
        var at = Array.LastIndexOf(labels, "google");
        if (at < 0 || at == labels.Length - 1)
        {
            return false;
        }

        var suffix = labels[(at + 1)..];
        return suffix.Length <= 2 && suffix.All(l => l.Length is >= 2 and <= 3);
    }

    private static string WithoutWww(string host) => host.StartsWith("www.", StringComparison.Ordinal) ? host[4..] : host;
}
