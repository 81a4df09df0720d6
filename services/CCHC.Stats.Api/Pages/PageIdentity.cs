using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CCHC.Stats.Api.Pages;

/// <summary>
/// Which page a view is of: the one definition of a page (the contract's "Pages" section), used by the counting engine,
/// the page reads and the page baselines alike. A page is a URL without its scheme, host and fragment; its path and
/// query are decoded, put in Unicode NFC (a Vietnamese path typed with decomposed diacritics is the page typed with
/// composed ones) and written back in one form; tracking parameters (<see cref="TrackingParameters"/>) are dropped, the
/// others sorted; a trailing <c>/</c> is dropped except from the root, and so is a doubled one.
/// </summary>
/// <remarks>
/// The form written back keeps letters as they are (the page reads as typed: <c>/tin-tức/abc</c>) and percent-encodes only
/// what would change the meaning (<c>%</c>, <c>/</c> inside a segment, <c>?</c>, <c>#</c>, <c>&amp;</c> and <c>=</c> inside a
/// parameter, <c>+</c>, spaces and control characters). In a query, <c>+</c> is a space, as forms send it. A page longer than
/// <see cref="MaxBytes"/> in UTF-8 (a URL of up to 2,048 characters can decode to more) keeps its start and ends in a hash
/// of the whole, so that it still fits the counts' key and two long pages stay two.
/// </remarks>
public static class PageIdentity
{
    /// <summary>
    /// Query parameters that share buttons, ad networks and mail tools add to a link, which say nothing about the page:
    /// dropped (case-insensitive). Any parameter whose name starts with <c>utm_</c> is dropped as well.
    /// </summary>
    public static readonly IReadOnlySet<string> TrackingParameters = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        // Facebook, Google Ads and Analytics, Microsoft Ads, Yandex, TikTok, X, LinkedIn, Instagram.
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "ttclid", "twclid", "li_fat_id", "igshid", "_ga", "_gl",
        // Zalo (Vietnam's messenger): its share and in-app browser add these.
        "zarsrc", "gidzl", "zl_click",
        // Mailchimp, HubSpot, Matomo/Piwik campaigns, Google's search result links.
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mtm_campaign", "mtm_source", "mtm_medium", "pk_campaign", "pk_source", "pk_medium", "srsltid",
    };

    /// <summary>The longest page kept whole, in UTF-8 bytes.</summary>
    public const int MaxBytes = 1024;

    /// <summary>The page of an absolute http(s) URL. Never throws: a URL the door let through always has a page.</summary>
    public static string Of(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return Bounded("/" + Canonical(url.Trim(), Reserved.Segment));
        }

        return Of(uri);
    }

    public static string Of(Uri uri)
    {
        // Empty segments go (a doubled or trailing slash): "//host/x" would read as another host's address where the
        // page is written as a link.
        var path = "/" + string.Join('/', uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(segment => Canonical(Decode(segment, plusIsSpace: false), Reserved.Segment)));

        var parameters = new List<(string Name, string Value)>();
        var query = uri.Query.TrimStart('?');
        if (query.Length > 0)
        {
            foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=');
                var name = Decode(equals < 0 ? pair : pair[..equals], plusIsSpace: true);
                var value = equals < 0 ? null : Decode(pair[(equals + 1)..], plusIsSpace: true);
                if (name.Length == 0 || IsTracking(name))
                {
                    continue;
                }

                parameters.Add((Canonical(name, Reserved.Parameter), value is null ? "" : "=" + Canonical(value, Reserved.Parameter)));
            }
        }

        var page = parameters.Count == 0
            ? path
            : path + "?" + string.Join('&', parameters.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
                .Select(p => p.Name + p.Value));
        return Bounded(page);
    }

    /// <summary>Whether a query parameter only tracks where the reader came from.</summary>
    public static bool IsTracking(string name) =>
        name.StartsWith("utm_", StringComparison.OrdinalIgnoreCase) || TrackingParameters.Contains(name);

    private enum Reserved { Segment, Parameter }

    private static string Decode(string text, bool plusIsSpace)
    {
        if (plusIsSpace)
        {
            text = text.Replace('+', ' ');
        }

        // Invalid escapes (%zz, or bytes that are not UTF-8) stay as they are; Canonical then escapes their '%'. Text that
        // cannot be normalised (a lone surrogate: the door refuses them, this never throws all the same) stays as decoded.
        var decoded = Uri.UnescapeDataString(text);
        try
        {
            return decoded.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            return decoded;
        }
    }

    private static string Canonical(string text, Reserved reserved)
    {
        StringBuilder? written = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var escape = c <= ' ' || c == '\u007f' || c == '%' || c == '#' || c == '?' || c == '+' || char.IsWhiteSpace(c) || char.IsControl(c)
                         || (reserved == Reserved.Segment ? c == '/' || c == '\\' : c == '&' || c == '=');
            if (!escape)
            {
                written?.Append(c);
                continue;
            }

            written ??= new StringBuilder(text.Length + 8).Append(text, 0, i);
            var length = char.IsHighSurrogate(c) && i + 1 < text.Length ? 2 : 1;
            foreach (var b in Encoding.UTF8.GetBytes(text.Substring(i, length)))
            {
                written.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }

            i += length - 1;
        }

        return written?.ToString() ?? text;
    }

    private static string Bounded(string page)
    {
        if (Encoding.UTF8.GetByteCount(page) <= MaxBytes)
        {
            return page;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(page)).AsSpan(0, 8));
        int keep = 0, bytes = 0;
        while (keep < page.Length)
        {
            var length = char.IsHighSurrogate(page[keep]) && keep + 1 < page.Length ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(page.AsSpan(keep, length));
            if (bytes + size > MaxBytes - 40)
            {
                break;
            }

            (keep, bytes) = (keep + length, bytes + size);
        }

        return page[..keep] + "…#" + hash;
    }
}
