using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace CCHC.Stats.Api.Hosting;

/// <summary>The roles a key can carry.</summary>
public enum KeyRole { Admin, Auditor, Ingest }

/// <summary>
/// Bearer keys: a missing or unknown key is 401, another role's key is 403, and a role whose key is not
/// configured is switched off (401 for everyone). Keys are compared as SHA-256 digests in constant time,
/// so neither their content nor their length leaks through timing.
/// </summary>
public sealed class ApiKeys(IOptions<StatsOptions> options)
{
    private readonly Dictionary<KeyRole, byte[]?> _digests = new()
    {
        [KeyRole.Admin] = Digest(options.Value.AdminKey),
        [KeyRole.Auditor] = Digest(options.Value.AuditorKey),
        [KeyRole.Ingest] = Digest(options.Value.IngestKey),
    };

    public IResult? Check(HttpContext context, KeyRole required)
    {
        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        var presented = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? Digest(header[scheme.Length..].Trim()) : null;
        var requiredDigest = _digests[required];
        if (presented is null || requiredDigest is null)
        {
            return Unauthorized(requiredDigest is null ? "This endpoint is not enabled on this server." : "A bearer key is required.");
        }

        var matched = false;
        var other = false;
        foreach (var (role, digest) in _digests)
        {
            var equal = digest is not null && CryptographicOperations.FixedTimeEquals(digest, presented);
            matched |= equal && role == required;
            other |= equal && role != required;
        }

        if (matched)
        {
            return null;
        }

        return other
            ? Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden.",
                detail: $"This key does not carry the {required.ToString().ToLowerInvariant()} role.")
            : Unauthorized("The bearer key is not valid.");
    }

    /// <summary>A 401 names the scheme it wants (RFC 9110 §11.6.1), so a client knows to send <c>Authorization: Bearer</c>.</summary>
    private static IResult Unauthorized(string detail) => new HeaderResult(
        Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized.", detail: detail),
        "WWW-Authenticate", "Bearer");

    private static byte[]? Digest(string? key) => string.IsNullOrEmpty(key) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

public static class ApiKeyEndpointExtensions
{
    /// <summary>Requires a bearer key of <paramref name="role"/> for the endpoints of this builder.</summary>
    public static TBuilder RequireKey<TBuilder>(this TBuilder builder, KeyRole role) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
                context.HttpContext.RequestServices.GetRequiredService<ApiKeys>().Check(context.HttpContext, role) ?? await next(context))
            .WithMetadata(new RequiresKey(role));
}
