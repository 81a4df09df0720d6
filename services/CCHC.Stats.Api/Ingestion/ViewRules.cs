using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;

namespace CCHC.Stats.Api.Ingestion;

/// <summary>The checks every view passes, public or imported, before it is recorded.</summary>
public static class ViewRules
{
    public const int MaxUrlLength = 2048;
    public const int MaxTitleLength = 1024;

    /// <summary>Why a view is refused, in the words the API answers and the metrics count.</summary>
    public enum Refusal { None, Invalid, HostNotAllowed }

    /// <summary>Checks url, referrer and title against the site; on success gives the normalised fields.</summary>
    public static (Refusal Refusal, string? Reason) Check(Site site, string? url, string? referrer, string? title)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return (Refusal.Invalid, "'url' is required.");
        }

        if (url.Length > MaxUrlLength)
        {
            return (Refusal.Invalid, $"'url' is longer than {MaxUrlLength} characters.");
        }

        if (!IsHttpUrl(url, out var uri))
        {
            return (Refusal.Invalid, "'url' must be an absolute http or https URL.");
        }

        if (!string.IsNullOrEmpty(referrer) && (referrer.Length > MaxUrlLength || !IsHttpUrl(referrer, out _)))
        {
            return (Refusal.Invalid, $"'referrer' must be an absolute http or https URL of at most {MaxUrlLength} characters.");
        }

        if (title is { Length: > MaxTitleLength })
        {
            return (Refusal.Invalid, $"'title' is longer than {MaxTitleLength} characters.");
        }

        var unstorable = !StorableText.IsStorable(url) ? "url" : !StorableText.IsStorable(referrer) ? "referrer" : !StorableText.IsStorable(title) ? "title" : null;
        if (unstorable is not null)
        {
            return (Refusal.Invalid, $"'{unstorable}' {StorableText.Refusal}.");
        }

        if (!site.AllowsHost(uri.IdnHost))
        {
            return (Refusal.HostNotAllowed, $"The host '{uri.Host}' is not allowed for site '{site.Id}'.");
        }

        return (Refusal.None, null);
    }

    private static bool IsHttpUrl(string value, out Uri uri) =>
        Uri.TryCreate(value, UriKind.Absolute, out uri!) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(uri.Host);
}
