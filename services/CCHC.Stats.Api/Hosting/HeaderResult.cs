namespace CCHC.Stats.Api.Hosting;

/// <summary>An answer with one more response header (<c>Retry-After</c> on a 503, <c>WWW-Authenticate</c> on a 401).</summary>
public sealed class HeaderResult(IResult inner, string name, string value) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.Headers[name] = value;
        return inner.ExecuteAsync(httpContext);
    }
}
