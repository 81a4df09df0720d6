using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Net.Http.Headers;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// How the public reads answer: a weak ETag over the figures (not the moment they were read), 304 when the client holds
/// them, and a short <c>Cache-Control</c> (public, or private for an answer given to a key).
/// </summary>
public static class CacheableJson
{
    /// <summary>A weak ETag over a value's JSON.</summary>
    public static string ETagOf<T>(T figures) => ETagOfJson(JsonSerializer.SerializeToUtf8Bytes(figures, JsonBody.Options));

    /// <summary>A weak ETag over JSON already written.</summary>
    public static string ETagOfJson(byte[] json) => WeakETag(SHA256.HashData(json));

    /// <summary>A weak ETag from a SHA-256 digest of what an answer follows from (its first 8 bytes, in hex).</summary>
    public static string WeakETag(ReadOnlySpan<byte> digest) => $"W/\"{Convert.ToHexStringLower(digest[..8])}\"";

    /// <summary>An answer made once (held in memory, served many times): its value, its JSON and its ETag.</summary>
    public sealed record Made<T>(T Figures, byte[] Json, string ETag)
    {
        /// <summary>The answer of <paramref name="figures"/>; its ETag over its JSON unless one is given.</summary>
        public static Made<T> Of(T figures, string? etag = null)
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(figures, JsonBody.Options);
            return new Made<T>(figures, json, etag ?? ETagOfJson(json));
        }
    }

    /// <summary>Sets the caching headers; true when the request's <c>If-None-Match</c> holds <paramref name="etag"/> (answer 304).</summary>
    public static bool NotModified(HttpContext http, string etag, int maxAgeSeconds, bool isPublic = true)
    {
        var headers = http.Response.Headers;
        headers.ETag = etag;
        headers.Vary = "Accept-Encoding";
        headers.CacheControl = $"{(isPublic ? "public" : "private")}, max-age={maxAgeSeconds}";
        var requested = http.Request.Headers.IfNoneMatch;
        return requested.Count > 0 && EntityTagHeaderValue.TryParseList(requested, out var tags)
            && tags.Any(t => t.Tag == "*" || t.Compare(EntityTagHeaderValue.Parse(etag), useStrongComparison: false));
    }

    /// <summary>
    /// The value as JSON, or 304, with the headers above; the ETag is taken over the JSON itself, serialised once (for an
    /// answer that holds no moment, only figures: a large one, such as a month of hours, costs its serialisation twice otherwise).
    /// </summary>
    public static IResult ServeOnce<T>(HttpContext http, T body, int maxAgeSeconds, bool isPublic = true)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(body, JsonBody.Options);
        return ServeMade(http, json, ETagOfJson(json), maxAgeSeconds, isPublic);
    }

    /// <summary>An answer made before, or 304, with the headers above.</summary>
    public static IResult ServeMade<T>(HttpContext http, Made<T> answer, int maxAgeSeconds, bool isPublic = true) =>
        ServeMade(http, answer.Json, answer.ETag, maxAgeSeconds, isPublic);

    /// <summary>JSON made before (a snapshot held in memory), or 304, with the headers above.</summary>
    public static IResult ServeMade(HttpContext http, byte[] json, string etag, int maxAgeSeconds, bool isPublic = true) =>
        NotModified(http, etag, maxAgeSeconds, isPublic)
            ? Results.StatusCode(StatusCodes.Status304NotModified)
            : Results.Bytes(json, "application/json; charset=utf-8");

    /// <summary>As <see cref="ServeMade(HttpContext, byte[], string, int, bool)"/>, compressed as the request accepts (public).</summary>
    public static IResult ServeMade(HttpContext http, Precompressed body, string etag, int maxAgeSeconds) =>
        NotModified(http, etag, maxAgeSeconds)
            ? Results.StatusCode(StatusCodes.Status304NotModified)
            : Results.Bytes(body.Negotiate(http), "application/json; charset=utf-8");

    /// <summary>The value as JSON, or 304, with the headers above.</summary>
    public static IResult Serve<T>(HttpContext http, T body, string etag, int maxAgeSeconds, bool isPublic = true) =>
        NotModified(http, etag, maxAgeSeconds, isPublic)
            ? Results.StatusCode(StatusCodes.Status304NotModified)
            : Results.Json(body, JsonBody.Options, "application/json; charset=utf-8");
}
