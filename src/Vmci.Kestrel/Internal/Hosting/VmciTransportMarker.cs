namespace Vmci.Kestrel.Internal;

/// <summary>Shows that <c>UseVmci</c> ran, so that <c>ListenVmci</c> can say so when it did not.</summary>
internal sealed class VmciTransportMarker;
