using System.IO.Compression;
using Microsoft.Net.Http.Headers;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// A response body kept with its Brotli and gzip forms, each made on the first read that accepts it and then reused:
/// the widget script is read by every reader of every portal, a site's counters thousands of times between two
/// refreshes. The response-compression middleware leaves an answer that already carries a Content-Encoding alone.
/// </summary>
public sealed class Precompressed(byte[] plain, CompressionLevel level)
{
    private byte[]? _brotli;
    private byte[]? _gzip;

    public byte[] Plain => plain;

    /// <summary>Writes the encoding headers for <paramref name="http"/>'s Accept-Encoding and returns the body to send.</summary>
    public byte[] Negotiate(HttpContext http)
    {
        var headers = http.Response.Headers;
        headers.Vary = HeaderNames.AcceptEncoding;
        var encoding = Choose(http.Request.Headers.AcceptEncoding);
        if (encoding is null)
        {
            return plain;
        }

        headers.ContentEncoding = encoding;
        return encoding == "br"
            ? _brotli ??= Compress(s => new BrotliStream(s, level))
            : _gzip ??= Compress(s => new GZipStream(s, level));
    }

    /// <summary>"br" before "gzip" when both are acceptable (quality above zero); null for neither.</summary>
    public static string? Choose(Microsoft.Extensions.Primitives.StringValues acceptEncoding)
    {
        if (!StringWithQualityHeaderValue.TryParseList(acceptEncoding, out var offered))
        {
            return null;
        }

        bool Accepts(string name) => offered.Any(o => o.Value.Equals(name, StringComparison.OrdinalIgnoreCase) && (o.Quality ?? 1) > 0);
        return Accepts("br") ? "br" : Accepts("gzip") ? "gzip" : null;
    }

    private byte[] Compress(Func<Stream, Stream> compressor)
    {
        using var buffer = new MemoryStream();
        using (var stream = compressor(buffer))
        {
            stream.Write(plain);
        }

        return buffer.ToArray();
    }
}
