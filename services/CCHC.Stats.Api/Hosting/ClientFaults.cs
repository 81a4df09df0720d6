using Microsoft.AspNetCore.Diagnostics;

namespace CCHC.Stats.Api.Hosting;

/// <summary>
/// A request the server could not read (a malformed chunked body, a body cut short, a header too long) is the
/// client's fault: Kestrel says so with a <see cref="BadHttpRequestException"/> and its status, and the client gets that
/// status as problem+json instead of a 500, whichever endpoint was reading.
/// </summary>
public sealed class ClientFaults(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted)
        {
            return false;
        }

        httpContext.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = { Status = bad.StatusCode, Title = "The request could not be read.", Detail = Plain(bad) },
        });
    }

    /// <summary>The answer for an endpoint that reads the body itself and meets such a fault.</summary>
    public static IResult Problem(BadHttpRequestException bad) =>
        Results.Problem(statusCode: bad.StatusCode, title: "The request could not be read.", detail: Plain(bad));

    /// <summary>Kestrel's message names the fault in plain words ("Bad chunk size data."), without parser internals.</summary>
    private static string Plain(BadHttpRequestException bad) => bad.Message;
}
