using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// Reads a JSON request body ourselves rather than through minimal-API binding, so that the key check runs
/// first, a body over the limit is refused (413) without being read whole, and every failure is a
/// problem+json with the reason.
/// </summary>
public static class JsonBody
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Converters = { new ApiTimeConverter() },

        // JSON answers, never embedded in HTML: '+', quotes and Vietnamese letters are written as they are.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The body read: the value or the problem to answer, and the bytes as sent when asked for (<see cref="Retries"/>).</summary>
    public sealed record Outcome<T>(T? Value, IResult? Problem, bool TooLarge = false, byte[]? Raw = null);

    /// <summary>Accepts <c>application/json</c> and <c>text/plain</c> (what <c>navigator.sendBeacon</c> sends).</summary>
    public static async Task<Outcome<T>> ReadAsync<T>(HttpRequest request, long maxBytes, CancellationToken ct, bool keepRaw = false)
    {
        if (request.ContentLength > maxBytes)
        {
            return new(default, TooLarge(maxBytes), true);
        }

        var sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = maxBytes;
        }

        var mediaType = request.ContentType?.Split(';')[0].Trim();
        if (mediaType is not null && !mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            && !mediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase)
            && !mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase))
        {
            return new(default, Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported media type.", detail: "Send the body as application/json or text/plain."));
        }

        try
        {
            // Sized to the announced body (already checked against the limit), so it is not regrown as it fills.
            using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 0);
            await CopyLimitedAsync(request.Body, buffer, maxBytes, ct);
            if (buffer.Length == 0)
            {
                return new(default, Malformed("The body is empty."));
            }

            buffer.Position = 0;
            var value = await JsonSerializer.DeserializeAsync<T>(buffer, Options, ct);
            return value is null ? new(default, Malformed("The body is JSON null.")) : new(value, null, Raw: keepRaw ? buffer.ToArray() : null);
        }
        catch (BodyTooLargeException)
        {
            return new(default, TooLarge(maxBytes), true);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new(default, TooLarge(maxBytes), true);
        }
        catch (BadHttpRequestException e)
        {
            return new(default, ClientFaults.Problem(e));
        }
        catch (JsonException e)
        {
            return new(default, Malformed(Describe(e)));
        }
    }

    /// <summary>
    /// What was wrong with a body or an item, in plain words and with the field's name — never the parser's own message
    /// (its line and byte positions mean nothing to the person reading the answer).
    /// </summary>
    public static string Describe(JsonException e)
    {
        var field = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
        if (e is FieldException)
        {
            return field is null ? $"A value {e.Message}." : $"'{field}' {e.Message}.";
        }

        // The reader's own errors (not JSON at all, a missing quote or comma) arrive wrapped; a value of the wrong kind does not.
        var syntax = e.InnerException?.GetType().Name == "JsonReaderException";
        return (syntax, field) switch
        {
            (true, null) => "The body is not well-formed JSON.",
            (true, _) => $"The body is not well-formed JSON (near '{field}').",
            (false, null) => "The body does not have the expected shape: a JSON object with the documented fields.",
            _ => $"'{field}' does not have the expected type or form.",
        };
    }

    public static IResult Malformed(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed request body.", detail: detail);

    private static IResult TooLarge(long maxBytes) =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large.",
            detail: $"The body may be at most {maxBytes:N0} bytes.");

    private static async Task CopyLimitedAsync(Stream source, Stream target, long maxBytes, CancellationToken ct)
    {
        // Rented, not allocated: a new 16 KB buffer per view was most of the service's garbage (~80 MB/s at
        // 4,700 views/s), and each collection it caused stopped every request (docs/BENCHMARKS.md).
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(chunk, ct)) > 0)
            {
                total += read;
                if (total > maxBytes)
                {
                    throw new BodyTooLargeException();
                }

                await target.WriteAsync(chunk.AsMemory(0, read), ct);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    private sealed class BodyTooLargeException : Exception;
}
